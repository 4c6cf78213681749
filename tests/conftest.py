"""Shared fixtures: the captured plans of both stacks, computed once per test session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "policies"):  # the pack's package, as `pulumi preview --policy-pack` loads it
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from offline.plan import Plan  # noqa: E402
from tests.support import stack_plan  # noqa: E402


@pytest.fixture(scope="session")
def dev_plan() -> Plan:
    return stack_plan("dev")


@pytest.fixture(scope="session")
def gpu_plan() -> Plan:
    return stack_plan("gpu")


@pytest.fixture(params=["dev", "gpu"], scope="session")
def any_plan(request: pytest.FixtureRequest) -> Plan:
    return stack_plan(request.param)
