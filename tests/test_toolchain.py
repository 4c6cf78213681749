"""The toolchain heartbeat says which build step is running, not only the log's (possibly stale) last line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.build_collector import go_env
from tools.toolchain import GO_GC_PERCENT, _progress, go_caches


def test_progress_names_the_current_step_and_the_last_line(tmp_path: Path) -> None:
    log = tmp_path / "pulumi.log"
    log.write_text("\n=== cli-3.259.0\nbuilt\n\n=== k8s-provider-4.32.0\ngo: downloading x v1\n")
    assert _progress(log) == "step k8s-provider-4.32.0; last: go: downloading x v1"


def test_progress_of_a_step_that_just_started_is_its_header(tmp_path: Path) -> None:
    log = tmp_path / "pulumi.log"
    log.write_text("=== venv-3.259.0\n")
    assert _progress(log) == "last: === venv-3.259.0"


def test_progress_of_a_missing_or_empty_log_is_empty(tmp_path: Path) -> None:
    assert _progress(tmp_path / "absent.log") == ""
    (tmp_path / "empty.log").write_text("")
    assert _progress(tmp_path / "empty.log") == ""


def test_every_go_build_runs_the_compiler_at_the_measured_gogc(monkeypatch: pytest.MonkeyPatch) -> None:
    """setup.sh, the collector, KEDA and the go-install tools all take GOGC from the shared environment."""
    monkeypatch.delenv("GOGC", raising=False)
    assert go_caches()["GOGC"] == GO_GC_PERCENT
    assert go_env()["GOGC"] == GO_GC_PERCENT
    monkeypatch.setenv("GOGC", "150")
    assert go_caches()["GOGC"] == "150" and go_env()["GOGC"] == "150"
