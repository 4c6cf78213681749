"""Build one component alone: a tiny program with hand-made inputs, run under the mock runtime."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from offline.plan import Plan, Resource
from offline.runner import run_program

Build = Callable[[str], Plan]


@pytest.fixture
def build(tmp_path: Path) -> Build:
    """``build(source)``: the plan of a program that constructs only what ``source`` constructs."""

    def run(source: str) -> Plan:
        program = tmp_path / "alone.py"
        program.write_text(textwrap.dedent(source))
        return run_program("dev", program=program)

    return run


def named(plan: Plan, name: str) -> Resource:
    (found,) = [r for r in plan.resources if r.name == name]
    return found


def of_kind(plan: Plan, kind: str) -> list[Resource]:
    return [r for r in plan.resources if r.is_kubernetes_object and r.kind == kind]
