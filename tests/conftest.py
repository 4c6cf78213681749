"""Shared fixtures: the captured plans of both stacks, computed once per test session."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from offline.plan import Plan  # noqa: E402
from offline.runner import run_program  # noqa: E402

_PLANS: dict[str, Plan] = {}


def stack_plan(stack: str) -> Plan:
    """The plan of an unmodified stack (cached: the program is deterministic)."""
    if stack not in _PLANS:
        _PLANS[stack] = run_program(stack)
    return _PLANS[stack]


@pytest.fixture(scope="session")
def dev_plan() -> Plan:
    return stack_plan("dev")


@pytest.fixture(scope="session")
def gpu_plan() -> Plan:
    return stack_plan("gpu")


@pytest.fixture(params=["dev", "gpu"], scope="session")
def any_plan(request: pytest.FixtureRequest) -> Plan:
    return stack_plan(request.param)


def require_tool(name: str) -> str:
    """Path of an external tool; skip with the reason outside CI, fail in CI (where it must exist)."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed (.ci/run installs it)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must not skip this check")
    pytest.skip(message)
