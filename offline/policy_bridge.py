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
PACK_MODULE = "llm_policies.offline"


def evaluate(plan: Plan, config: dict[str, Any] | None = None) -> list[Finding]:
    """Findings of every policy in the pack; the pack's own validators decide.

    Fail closed: a pack that is missing or does not load is a mandatory finding with the reason,
    never a pass (nothing it would have blocked was looked at).
    """
    if str(POLICY_DIR) not in sys.path:
        sys.path.insert(0, str(POLICY_DIR))
    try:
        adapter = importlib.import_module(PACK_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("llm_policies"):
            return [Finding("policy-pack", "mandatory", None, f"policy pack not found under policies/ ({exc})")]
        return [Finding("policy-pack", "mandatory", None, f"policy pack does not load: {exc}")]
    except Exception as exc:  # a pack that raises while loading checks nothing: say why
        return [Finding("policy-pack", "mandatory", None, f"policy pack does not load: {type(exc).__name__}: {exc}")]
    resources = [
        {**r.to_json(), "inputs": r.inputs if r.policy_inputs is None else r.policy_inputs, "custom": r.custom}
        for r in plan.resources
    ]
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
