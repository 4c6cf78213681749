"""Helpers the tests share: cached stack plans and external tools that CI must have."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import config
from offline.plan import Plan
from offline.runner import run_program

_PLANS: dict[str, Plan] = {}


def stack_plan(stack: str) -> Plan:
    """The plan of an unmodified stack (cached: the program is deterministic)."""
    if stack not in _PLANS:
        _PLANS[stack] = run_program(stack)
    return _PLANS[stack]


def require_tool(name: str) -> str:
    """Path of an external tool; skip with the reason outside CI, fail in CI (where it must exist)."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed (.ci/run installs it)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must not skip this check")
    pytest.skip(message)


def fake_mirror(directory: Path, stack: config.StackConfig | None = None) -> Path:
    """A chart mirror directory with an (empty) archive for every pinned chart the stack installs."""
    for pin in config.charts_in_use(stack or config.StackConfig()):
        (directory / f"{pin.name}-{pin.version}.tgz").write_bytes(b"")
    return directory
