"""Run the project's CrossGuard policy pack over a captured plan, as ``pulumi preview`` would."""

from __future__ import annotations

import importlib
import sys
from typing import Any

from offline.plan import Finding, Plan
from offline.runner import ROOT

POLICY_DIR = ROOT / "policies"


def evaluate(plan: Plan, config: dict[str, Any] | None = None) -> list[Finding]:
    """Findings of every policy in the pack; the pack's own validators decide."""
    if str(POLICY_DIR) not in sys.path:
        sys.path.insert(0, str(POLICY_DIR))
    try:
        adapter = importlib.import_module("llm_policies.offline")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("llm_policies"):
            return [Finding("policy-pack", "advisory", None, "policy pack not found under policies/llm_policies")]
        raise
    resources = [{**r.to_json(), "custom": r.custom} for r in plan.resources]
    return [
        Finding(f"policy:{v['policy']}", v["level"], v.get("urn"), v["message"])
        for v in adapter.evaluate(resources, config)
    ]
