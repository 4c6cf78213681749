"""The weighted canary inside LiteLLM: ``gateway.canary.percent`` as LiteLLM deployment weights.

``llm.<domain>`` splits traffic with weighted Gateway API backendRefs; ``litellm.<domain>`` must
split it the same way. LiteLLM groups every ``model_list`` entry with the same ``model_name`` into
one model and, with the ``simple-shuffle`` routing strategy, picks an entry at random in
proportion to ``litellm_params.weight`` (``litellm/router_strategy/simple_shuffle.py``,
LiteLLM 1.80). So the canary's entry joins the primary's group under the primary's model name,
weighted ``percent`` against ``100 - percent``.

An entry of weight 0 is left out of the group instead (LiteLLM divides by the group's total
weight, which would be 0 if the other entry were cooling down). When the canary serves a model
of another name, it also stays reachable under its own name, unweighted.
"""

from __future__ import annotations

import copy
from typing import Any

from config.sections import Canary

ROUTING_STRATEGY = "simple-shuffle"
"""LiteLLM's default strategy, written out: it is the one that honours ``weight``."""


def _entry_of(model_list: list[dict[str, Any]], engine: str) -> dict[str, Any]:
    for entry in model_list:
        if (entry.get("model_info") or {}).get("engine") == engine:
            return entry
    served = sorted({str((e.get("model_info") or {}).get("engine")) for e in model_list})
    raise ValueError(f"gateway.canary names engine {engine!r}, which LiteLLM does not route to (it has {served})")


def weighted(proxy_config: dict[str, Any], canary: Canary | None) -> dict[str, Any]:
    """``proxy_config`` with the canary split as weights (unchanged without a canary)."""
    if canary is None:
        return proxy_config
    document = copy.deepcopy(proxy_config)
    model_list: list[dict[str, Any]] = document["model_list"]
    primary = _entry_of(model_list, canary.primary)
    candidate = _entry_of(model_list, canary.canary)
    public_name = primary["model_name"]
    weighted_entries: list[dict[str, Any]] = []
    for entry, weight in ((primary, 100 - canary.percent), (candidate, canary.percent)):
        if weight > 0:
            member = copy.deepcopy(entry)
            member["model_name"] = public_name
            member["litellm_params"]["weight"] = weight
            weighted_entries.append(member)
    others = [e for e in model_list if e is not primary and e is not candidate]
    if candidate["model_name"] != public_name:
        others.append(candidate)  # still reachable by its own name
    document["model_list"] = weighted_entries + others
    document["router_settings"] = {**document.get("router_settings", {}), "routing_strategy": ROUTING_STRATEGY}
    return document
