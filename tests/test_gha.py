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


def test_output_hands_a_file_to_later_jobs(tmp_path: Path) -> None:
    markdown = tmp_path / "plan-diff.md"
    markdown.write_text("<!-- marker -->\n| a | b |\nEOF\n")
    outputs = tmp_path / "outputs"
    env = {"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(outputs)}
    done = subprocess.run([sys.executable, "-m", "offline.gha", "output", "markdown", str(markdown)],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    first, *body, last = outputs.read_text().splitlines()
    name, delimiter = first.split("<<")
    assert name == "markdown" and last == delimiter and delimiter.startswith("EOF_") and len(delimiter) > 20
    assert body == ["<!-- marker -->", "| a | b |", "EOF"]


def test_output_outside_actions_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "x.md").write_text("x")
    done = gha("output", "markdown", str(tmp_path / "x.md"))
    assert done.returncode == 1 and "GITHUB_OUTPUT is not set" in done.stderr
