"""Autoscaling: KEDA ScaledObjects on the pinned engines' queue metrics, HPAs, and bad settings refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import config
import versions
from components import dashboards, monitoring_stack, scaling_signals
from components.autoscaling import scaled_object_spec
from components.contracts import EngineEndpoint, ServiceRef
from config.capacity import EngineScaling
from offline import metric_contract
from offline.checks import metrics as metrics_check
from offline.plan import Plan
from offline.runner import run_program
from tests.conftest import one, resource_named
from tests.support import stack_plan

METRIC = re.compile(r"([a-z_]+:[a-z_:]+)\{")


@pytest.fixture(scope="module")
def cluster_plan() -> Plan:
    return stack_plan("cluster")


@pytest.mark.parametrize("engine", ["vllm", "sglang"])
def test_signals_were_checked_against_the_pinned_engine_image(engine: str) -> None:
    """Bumping an engine image fails here until its metric names are checked again."""
    assert versions.IMAGES[engine].rsplit(":", 1)[1] == scaling_signals.SIGNALS[engine].image_tag


def test_vllm_queries_read_the_metrics_of_vllm_0_11() -> None:
    waiting = scaling_signals.waiting_query("vllm", "llm", "vllm")
    kv_cache = scaling_signals.kv_cache_query("vllm", "llm", "vllm")
    assert waiting == 'sum(vllm:num_requests_waiting{namespace="llm",job="vllm"})'
    assert kv_cache == 'sum(vllm:kv_cache_usage_perc{namespace="llm",job="vllm"})'
    # vLLM 0.11 still exports the old name, deprecated: scaling must not start on it.
    assert "gpu_cache_usage_perc" not in kv_cache


def test_the_dashboard_shows_what_the_engine_scales_on() -> None:
    """The vLLM dashboard and the triggers read the same series (one set of names, not two)."""
    text = Path(dashboards.__file__).read_text()
    for name in (scaling_signals.SIGNALS["vllm"].waiting, scaling_signals.SIGNALS["vllm"].kv_cache_usage):
        assert name in text


def test_scaled_object_per_gpu_engine_with_range_cooldown_and_fallback(cluster_plan: Plan) -> None:
    scaled = one(cluster_plan, "ScaledObject", "vllm")
    spec = scaled.inputs["spec"]
    cfg = config.validate({}, set()).autoscaling.engines
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "vllm"}
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (cfg.min_replicas, cfg.max_replicas)
    assert spec["cooldownPeriod"] == cfg.cooldown_seconds
    assert spec["fallback"] == {"failureThreshold": cfg.fallback_failure_threshold, "replicas": cfg.fallback_replicas}
    queries = {t["name"]: t["metadata"]["query"] for t in spec["triggers"]}
    assert queries == {
        "waiting-requests": scaling_signals.waiting_query("vllm", "llm", "vllm"),
        "kv-cache-usage": scaling_signals.kv_cache_query("vllm", "llm", "vllm"),
    }
    prometheus = monitoring_stack.endpoints("monitoring").prometheus.url()
    assert {t["metadata"]["serverAddress"] for t in spec["triggers"]} == {prometheus}
    # KEDA's fallback works only on AverageValue triggers.
    assert {t["metricType"] for t in spec["triggers"]} == {"AverageValue"}
    # The Deployment leaves the count to the HPA KEDA makes, and waits for KEDA's CRDs.
    assert "replicas" not in resource_named(cluster_plan, "vllm-deployment").inputs["spec"]
    keda = resource_named(cluster_plan, "autoscaling-keda")
    assert cluster_plan.depends_on(scaled.urn, keda.urn)


def test_trigger_queries_name_only_the_engines_own_metrics() -> None:
    engine = EngineEndpoint("sglang", ServiceRef("sglang", "llm", 8000), "m", "m")
    spec = scaled_object_spec(engine, EngineScaling(), ServiceRef("prometheus", "monitoring", 9090))
    names = {METRIC.search(t["metadata"]["query"]).group(1) for t in spec["triggers"]}  # type: ignore[union-attr]
    assert names == {"sglang:num_queue_reqs", "sglang:token_usage"}


@pytest.mark.parametrize("engine", ["vllm", "sglang"])
def test_signals_are_current_names_of_the_engines_contract_table(engine: str) -> None:
    """Each trigger's metric is in the pinned engine's table, neither hidden nor deprecated there."""
    table = next(t for t in metric_contract.load() if t.source == engine)
    signals = scaling_signals.SIGNALS[engine]
    assert table.version == signals.image_tag
    for name in (signals.waiting, signals.kv_cache_usage):
        assert name in table.metrics, name
        assert name not in table.hidden and name not in table.deprecated, name


@pytest.mark.parametrize("signal", ["sglang:num_queue_reqs", "sglang:token_usage"])
def test_an_sglang_trigger_on_a_name_sglang_lacks_is_refused(signal: str) -> None:
    plan = run_program("cluster", {"engine": "sglang", "sglang.enabled": "true"})
    (scaled,) = plan.k8s("ScaledObject", "keda.sh/")
    assert scaled.k8s_name == "sglang"
    assert [f for f in metrics_check.check_metric_contract(plan) if f.level == "mandatory"] == []
    # vLLM's name for the same signal on the SGLang engine: no such series, the scaler would read nothing.
    for trigger in scaled.inputs["spec"]["triggers"]:
        trigger["metadata"]["query"] = trigger["metadata"]["query"].replace(signal, "sglang:num_requests_waiting")
    messages = [f.message for f in metrics_check.check_metric_contract(plan) if f.level == "mandatory"]
    assert len(messages) == 1 and "ScaledObject sglang trigger uses sglang:num_requests_waiting" in messages[0]


def test_litellm_and_collector_scale_on_cpu_and_memory(cluster_plan: Plan) -> None:
    hpa = resource_named(cluster_plan, "litellm-hpa")
    assert hpa.api_version == "autoscaling/v2"
    assert {m["resource"]["name"] for m in hpa.inputs["spec"]["metrics"]} == {"cpu", "memory"}
    assert "replicas" not in resource_named(cluster_plan, "litellm-deployment").inputs["spec"]
    collector = resource_named(cluster_plan, "tracing-collector").inputs["values"]["autoscaling"]
    assert collector["enabled"] and collector["minReplicas"] <= collector["maxReplicas"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"autoscaling.engines.minReplicas": "3", "autoscaling.engines.maxReplicas": "2"},
         ["llm-tracing-infra:autoscaling.engines:", "minReplicas 3 is above maxReplicas 2"]),
        ({"autoscaling.litellm.minReplicas": "5"}, ["llm-tracing-infra:autoscaling.litellm:", "minReplicas 5"]),
        ({"cloud.karpenter.capacityTypes": '["spot", "preemptible"]'},
         ["llm-tracing-infra:cloud.karpenter:", "unknown: ['preemptible']"]),
        ({"cloud.karpenter.instanceFamilies": "[]"},
         ["llm-tracing-infra:cloud.karpenter:", "instanceFamilies is empty"]),
        ({"cloud.karpenter.enabled": "true"}, ["clusterName is required", "nodeRole is required"]),
        ({"istio.mtls.monitoring": "STRICT"}, ["llm-tracing-infra:istio.mtls.monitoring=STRICT", "KEDA"]),
    ],
)  # fmt: skip
def test_bad_scaling_or_karpenter_settings_fail_before_any_resource(
    overrides: dict[str, str], expected: list[str]
) -> None:
    with pytest.raises(config.ConfigError) as caught:
        run_program("cluster", overrides)
    message = str(caught.value)
    for part in expected:
        assert part in message
    assert caught.value.plan.resources == []  # type: ignore[attr-defined]
