"""Wiring and consistency checks over a captured plan.

Each module here exports ``CHECKS``: functions ``(plan) -> list[Finding]``. Mandatory findings
fail the offline preview. The policy pack in ``policies/`` runs alongside, through
``offline.policy_bridge``, with the very code that ``pulumi preview --policy-pack`` runs.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from offline.plan import Finding, Plan

Check = Callable[[Plan], list[Finding]]


def all_checks() -> list[Check]:
    checks: list[Check] = []
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        loaded = importlib.import_module(f"{__name__}.{module.name}")
        checks.extend(getattr(loaded, "CHECKS", []))
    return checks


def run_checks(plan: Plan) -> list[Finding]:
    findings: list[Finding] = []
    for check in all_checks():
        findings.extend(check(plan))
    return findings
