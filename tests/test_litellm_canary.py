"""The canary split as LiteLLM weights in the generated config.yaml (run against LiteLLM in tests/pipeline)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from components.litellm_canary import ROUTING_STRATEGY, weighted
from config import Canary
from offline.runner import run_program


def entry(engine: str, name: str) -> dict[str, Any]:
    return {
        "model_name": name,
        "litellm_params": {"model": f"openai/{name}", "api_base": f"http://{engine}:8000/v1", "api_key": "EMPTY"},
        "model_info": {"engine": engine},
    }


def document(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"model_list": list(entries), "litellm_settings": {"callbacks": ["otel"]}}


def group(config: dict[str, Any], name: str) -> dict[str, int | None]:
    """engine -> weight of the entries LiteLLM groups under ``name``."""
    entries = [e for e in config["model_list"] if e["model_name"] == name]
    return {e["model_info"]["engine"]: e["litellm_params"].get("weight") for e in entries}


def test_without_a_canary_nothing_changes() -> None:
    original = document(entry("vllm", "qwen"))
    assert weighted(original, None) is original


def test_the_canary_joins_the_primary_group_with_its_percent() -> None:
    pair = document(entry("vllm", "qwen"), entry("sglang", "qwen"))
    config = weighted(pair, Canary(primary="vllm", canary="sglang", percent=10))
    assert group(config, "qwen") == {"vllm": 90, "sglang": 10}
    assert config["router_settings"] == {"routing_strategy": ROUTING_STRATEGY}
    assert config["litellm_settings"] == {"callbacks": ["otel"]}


def test_a_canary_of_another_name_is_weighted_and_still_reachable_by_its_own() -> None:
    pair = document(entry("mock", "mock-llm"), entry("vllm", "qwen"))
    config = weighted(pair, Canary(primary="mock", canary="vllm", percent=25))
    assert group(config, "mock-llm") == {"mock": 75, "vllm": 25}
    assert group(config, "qwen") == {"vllm": None}


@pytest.mark.parametrize(("percent", "expected"), [(0, {"vllm": 100}), (100, {"sglang": 100})])
def test_a_zero_weight_entry_leaves_the_group(percent: int, expected: dict[str, int]) -> None:
    # LiteLLM divides by the group's total weight: a lone zero-weight entry would divide by zero.
    pair = document(entry("vllm", "qwen"), entry("sglang", "qwen"))
    config = weighted(pair, Canary(primary="vllm", canary="sglang", percent=percent))
    assert group(config, "qwen") == expected


def test_a_canary_engine_litellm_does_not_route_to_is_refused() -> None:
    with pytest.raises(ValueError, match=r"gateway.canary names engine 'sglang'"):
        weighted(document(entry("vllm", "qwen")), Canary(primary="vllm", canary="sglang", percent=10))


def test_the_program_writes_the_weights_into_litellms_config_map() -> None:
    canary = json.dumps({"primary": "vllm", "canary": "sglang", "percent": 10})
    plan = run_program("gpu", {"sglang.enabled": "true", "gateway.canary": canary})
    (config_map,) = [r for r in plan.k8s("ConfigMap") if r.k8s_name == "litellm-config"]
    config = yaml.safe_load(config_map.inputs["data"]["config.yaml"])
    assert group(config, "qwen2.5-3b-instruct") == {"vllm": 90, "sglang": 10}
    assert config["router_settings"]["routing_strategy"] == "simple-shuffle"
