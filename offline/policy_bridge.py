"""Run the project's CrossGuard policy pack over a captured plan, as ``pulumi preview`` would.

Fails closed: a pack that is missing, does not import or raises while judging is a mandatory finding,
never a pass (the CLI refuses to preview with a broken ``--policy-pack`` too).
"""

from __future__ import annotations

import importlib
import sys
import traceback
from typing import Any

from offline.plan import Finding, Plan
from offline.runner import ROOT

POLICY_DIR = ROOT / "policies"
FIX = "restore policies/llm_policies (pulumi preview --policy-pack policies must load it too)"


def evaluate(plan: Plan, config: dict[str, Any] | None = None) -> list[Finding]:
    """Findings of every policy in the pack; the pack's own validators decide."""
    if str(POLICY_DIR) not in sys.path:
        sys.path.insert(0, str(POLICY_DIR))
    try:
        adapter = importlib.import_module("llm_policies.offline")
    except Exception as exc:  # missing or broken pack: nothing was judged
        return [Finding("policy-pack", "mandatory", None, f"the policy pack could not be loaded ({exc!r}): {FIX}")]
    resources = [{**r.to_json(), "custom": r.custom} for r in plan.resources]
    try:
        violations = adapter.evaluate(resources, config)
    except Exception as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return [Finding(
            "policy-pack", "mandatory", None,
            f"the policy pack failed while judging the plan ({exc!r} at {where.filename}:{where.lineno}): "
            "nothing was judged; fix the policy",
        )]
    return [Finding(f"policy:{v['policy']}", v["level"], v.get("urn"), v["message"]) for v in violations]
