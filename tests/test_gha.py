"""``python -m offline.gha``: a skipped or failed job says so as an annotation and in the job summary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from offline.runner import ROOT


def gha(*args: str, summary: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin"} | ({"GITHUB_STEP_SUMMARY": str(summary)} if summary else {})
    return subprocess.run([sys.executable, "-m", "offline.gha", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)


def test_notice_annotates_and_writes_the_summary(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    done = gha("notice", "lab skipped (dev)", "no shared folder: set LAB_SHARED_REPOSITORY", summary=summary)
    assert done.returncode == 0
    assert done.stdout == "::notice title=lab skipped (dev)::no shared folder: set LAB_SHARED_REPOSITORY\n"
    assert "**lab skipped (dev)**: no shared folder: set LAB_SHARED_REPOSITORY" in summary.read_text()


def test_error_fails_and_escapes_to_one_line() -> None:
    done = gha("error", "plan diff: a, b", "two\nlines 100%")
    assert done.returncode == 1
    assert done.stdout == "::error title=plan diff%3A a%2C b::two%0Alines 100%25\n"
