"""TracingPipeline: the collector's config, its link to Tempo, Tempo's link to Prometheus, read from the plan."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

import config
from components import litellm, monitoring_stack, tracing_pipeline
from components._k8s import NO_SIDECAR_LABELS
from components.contracts import ServiceRef
from offline.checks import tracing as checks
from offline.checks.gateway import chart_name, plan_services
from offline.plan import SECRET, Plan, Resource
from offline.runner import run_program
from tests.support import stack_plan

STACKS = ["dev", "gpu"]


def chart(plan: Plan, name: str) -> Resource:
    found = [c for c in plan.charts() if chart_name(c) == name]
    assert len(found) == 1, f"stack {plan.stack}: expected one {name} chart, found {len(found)}"
    return found[0]


def values(plan: Plan, name: str) -> dict[str, Any]:
    result = chart(plan, name).inputs["values"]
    assert isinstance(result, dict), f"{name} values are {result!r} (a secret inside makes them unreadable)"
    return result


def collector(plan: Plan) -> dict[str, Any]:
    return dict(values(plan, "opentelemetry-collector")["alternateConfig"])


def tempo_config(plan: Plan) -> dict[str, Any]:
    return dict(yaml.safe_load(values(plan, "tempo")["config"]))


def edited(plan: Plan, name: str, edit: Callable[[dict[str, Any]], None]) -> Plan:
    """A copy of ``plan`` whose ``name`` chart values went through ``edit``: the way to break one link."""
    broken = copy.deepcopy(plan)
    edit(chart(broken, name).inputs["values"])
    return broken


# ---------------------------------------------------------------------------------------------
# Collector -> Tempo
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_collector_exports_to_the_tempo_service_it_creates(stack: str) -> None:
    plan = stack_plan(stack)
    tempo = tracing_pipeline.endpoints(config.StackConfig().namespaces.tracing).tempo_otlp_grpc
    assert collector(plan)["exporters"]["otlp_grpc/tempo"]["endpoint"] == tempo.authority
    assert checks.check_collector_exports_to_tempo(plan) == []

    def rename_tempo(v: dict[str, Any]) -> None:
        v["fullnameOverride"] = "tempo-renamed"

    findings = checks.check_collector_exports_to_tempo(edited(plan, "tempo", rename_tempo))
    assert findings and "otlp_grpc/tempo" in findings[0].message


def test_collector_exporting_to_a_port_tempo_lacks_is_caught() -> None:
    def wrong_port(v: dict[str, Any]) -> None:
        v["alternateConfig"]["exporters"]["otlp_grpc/tempo"]["endpoint"] = "tempo.tracing.svc.cluster.local:9999"

    assert checks.check_collector_exports_to_tempo(edited(stack_plan("dev"), "opentelemetry-collector", wrong_port))


def test_endpoints_are_the_services_the_charts_render() -> None:
    services = plan_services(stack_plan("dev"))
    refs = tracing_pipeline.endpoints(config.StackConfig().namespaces.tracing)
    for ref in (refs.otlp_grpc, refs.otlp_http, refs.tempo_http, refs.tempo_otlp_grpc):
        service = services.get((ref.namespace, ref.name))
        assert service is not None and ref.port in service.ports, f"{ref} is not a rendered Service port"
        assert service.ports[ref.port] == ref.app_protocol, f"{ref}: appProtocol {service.ports[ref.port]!r}"


def test_collector_grpc_port_has_app_protocol_grpc() -> None:
    rendered = plan_services(stack_plan("dev"))[("tracing", tracing_pipeline.COLLECTOR_FULLNAME)]
    assert rendered.ports[4317] == "grpc"
    assert set(rendered.ports) == {4317, 4318, tracing_pipeline.METRICS_PORT}, "jaeger/zipkin ports are off"


# ---------------------------------------------------------------------------------------------
# Collector pipelines: nothing lost
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_memory_limiter_is_first_in_every_pipeline(stack: str) -> None:
    plan = stack_plan(stack)
    for name, pipeline in collector(plan)["service"]["pipelines"].items():
        assert pipeline["processors"][0] == "memory_limiter", name
    assert checks.check_collector_pipelines(plan) == []

    def limiter_second(v: dict[str, Any]) -> None:
        v["alternateConfig"]["service"]["pipelines"]["traces"]["processors"] = ["k8s_attributes", "memory_limiter"]

    findings = checks.check_collector_pipelines(edited(plan, "opentelemetry-collector", limiter_second))
    assert [f.message for f in findings] == [
        "pipeline traces: memory_limiter must be the first processor, got ['k8s_attributes', 'memory_limiter']"
    ]


def test_spans_are_batched_after_the_persistent_queue_not_before() -> None:
    plan = stack_plan("gpu")
    config_ = collector(plan)
    for name, pipeline in config_["service"]["pipelines"].items():
        assert not [p for p in pipeline["processors"] if p.split("/")[0] == "batch"], name
    for name, exporter in config_["exporters"].items():
        assert exporter["sending_queue"]["batch"]["sizer"] == "items", name

    def batch_processor(v: dict[str, Any]) -> None:
        v["alternateConfig"]["processors"]["batch"] = {}
        v["alternateConfig"]["service"]["pipelines"]["traces"]["processors"].append("batch")

    findings = checks.check_collector_pipelines(edited(plan, "opentelemetry-collector", batch_processor))
    assert len(findings) == 1 and "holds acknowledged spans in memory" in findings[0].message


def test_memory_limit_comes_from_config() -> None:
    limiter = collector(run_program("dev", {"tracing.collector.memoryLimitMib": "300"}))["processors"]["memory_limiter"]
    assert limiter["limit_mib"] == 300 and limiter["spike_limit_mib"] == 60


def test_memory_limit_must_stay_below_the_container_limit() -> None:
    with pytest.raises(ValueError, match=r"memoryLimitMib 512 must be below resources\.limits\.memory 512Mi"):
        config.Collector(memory_limit_mib=512)


def test_sending_queue_is_persisted_on_a_claim_per_replica() -> None:
    plan = run_program("dev", {"tracing.collector.queueStorageSize": "3Gi", "tracing.collector.queueSize": "2000"})
    v = values(plan, "opentelemetry-collector")
    config_ = v["alternateConfig"]
    queue = config_["exporters"]["otlp_grpc/tempo"]["sending_queue"]
    assert queue["storage"] == "file_storage/queue" and queue["queue_size"] == 2000 and queue["sizer"] == "requests"
    assert "file_storage/queue" in config_["service"]["extensions"]
    directory = config_["extensions"]["file_storage/queue"]["directory"]
    mounts = {m["mountPath"]: m["name"] for m in v["extraVolumeMounts"]}
    claims = {c["metadata"]["name"]: c for c in v["statefulset"]["volumeClaimTemplates"]}
    assert v["mode"] == "statefulset"
    assert claims[mounts[directory]]["spec"]["resources"]["requests"]["storage"] == "3Gi"
    assert v["statefulset"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Retain"

    def in_memory_queue(v: dict[str, Any]) -> None:
        del v["alternateConfig"]["exporters"]["otlp_grpc/tempo"]["sending_queue"]["storage"]

    findings = checks.check_collector_pipelines(edited(plan, "opentelemetry-collector", in_memory_queue))
    assert findings and "not persisted" in findings[0].message


def test_queue_volume_follows_retain_on_destroy() -> None:
    v = values(run_program("dev", {"storage.retainOnDestroy": "false"}), "opentelemetry-collector")
    assert v["statefulset"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Delete"
    assert v["statefulset"]["volumeClaimTemplates"][0]["metadata"]["annotations"] == {}


def test_exporters_retry_without_deadline() -> None:
    for name, exporter in collector(stack_plan("gpu"))["exporters"].items():
        assert exporter["retry_on_failure"]["enabled"] and exporter["retry_on_failure"]["max_elapsed_time"] == "0s"
        assert exporter["sending_queue"]["storage"] == "file_storage/queue", name


def test_collector_runs_the_contrib_image_with_limits_and_rbac() -> None:
    v = values(stack_plan("dev"), "opentelemetry-collector")
    cfg = config.StackConfig()
    assert f"{v['image']['repository']}:{v['image']['tag']}" == cfg.versions.image("otelCollector")
    assert v["resources"] == cfg.tracing.collector.resources.as_k8s()
    assert v["podLabels"]["sidecar.istio.io/inject"] == NO_SIDECAR_LABELS["sidecar.istio.io/inject"]
    assert not any(p.get("enabled") for p in v.get("presets", {}).values()), "presets would rewrite the config"
    rules = v["clusterRole"]["rules"]
    assert v["clusterRole"]["create"] and any("pods" in r["resources"] for r in rules), "k8s_attributes reads pods"
    assert "k8s_attributes" in collector(stack_plan("dev"))["service"]["pipelines"]["traces"]["processors"]


def test_collector_config_attribute_is_what_the_chart_gets() -> None:
    cfg = config.StackConfig()
    expected = tracing_pipeline.collector_config(
        cfg.tracing.collector, tracing_pipeline.endpoints(cfg.namespaces.tracing).tempo_otlp_grpc
    )
    assert collector(stack_plan("dev")) == expected


# ---------------------------------------------------------------------------------------------
# Langfuse: LLM spans only, credentials in a Secret
# ---------------------------------------------------------------------------------------------


def test_langfuse_exporter_takes_its_credentials_from_a_secret() -> None:
    plan = stack_plan("gpu")
    config_ = collector(plan)
    exporter = config_["exporters"]["otlp_http/langfuse"]
    assert exporter["endpoint"] == "http://langfuse-web.langfuse.svc.cluster.local:3000/api/public/otel"
    assert exporter["headers"] == {"Authorization": f"${{env:{tracing_pipeline.LANGFUSE_AUTH_ENV}}}"}
    env = values(plan, "opentelemetry-collector")["extraEnvs"]
    reference = {"secretKeyRef": {"name": tracing_pipeline.LANGFUSE_SECRET, "key": "authorization"}}
    assert {"name": tracing_pipeline.LANGFUSE_AUTH_ENV, "valueFrom": reference} in env
    secret = next(r for r in plan.k8s("Secret") if r.k8s_name == tracing_pipeline.LANGFUSE_SECRET)
    assert secret.namespace == "tracing" and secret.inputs["stringData"] == SECRET
    pipeline = config_["service"]["pipelines"]["traces/langfuse"]
    assert pipeline["processors"][:2] == ["memory_limiter", "filter/langfuse"]
    assert "otlp_http/langfuse" not in collector(stack_plan("dev"))["exporters"], "dev has no Langfuse"


def test_langfuse_filter_keeps_llm_spans_only() -> None:
    conditions = tracing_pipeline._langfuse_filter((litellm.NAME,))["traces"]["span"]
    # Drop conditions: a span goes to Langfuse only if none of them matches.
    assert conditions[0] == " and ".join(f'attributes["{a}"] == nil' for a in tracing_pipeline.LLM_SPAN_ATTRIBUTES)
    assert 'resource.attributes["service.name"] == "litellm"' in conditions, "LiteLLM reports to Langfuse itself"
    config_ = collector(stack_plan("gpu"))
    assert config_["processors"]["filter/langfuse"]["traces"]["span"] == conditions


# ---------------------------------------------------------------------------------------------
# Tempo
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_tempo_remote_writes_to_the_prometheus_passed_in(stack: str) -> None:
    plan = stack_plan(stack)
    prometheus = monitoring_stack.endpoints(config.StackConfig().namespaces.monitoring).prometheus
    write = tempo_config(plan)["metrics_generator"]["storage"]["remote_write"]
    assert write == [{"url": prometheus.url(path="/api/v1/write"), "send_exemplars": True}]
    assert checks.check_tempo_remote_write(plan) == []

    def elsewhere(v: dict[str, Any]) -> None:
        v["config"] = v["config"].replace(prometheus.host, "prometheus.elsewhere.svc.cluster.local")

    assert checks.check_tempo_remote_write(edited(plan, "tempo", elsewhere))


def test_tempo_remote_write_follows_the_argument() -> None:
    other = ServiceRef("metrics", "observability", 9091)
    values = tracing_pipeline.tempo_values(config.StackConfig().tracing.tempo, other, retain=True, cluster="east")
    rendered = yaml.safe_load(values["config"])
    assert rendered["metrics_generator"]["registry"]["external_labels"] == {"source": "tempo", "cluster": "east"}
    assert rendered["metrics_generator"]["storage"]["remote_write"][0]["url"] == (
        "http://metrics.observability.svc.cluster.local:9091/api/v1/write"
    )


def test_tempo_generates_service_graphs_and_span_metrics() -> None:
    document = tempo_config(stack_plan("dev"))
    processors = document["overrides"]["defaults"]["metrics_generator"]["processors"]
    assert processors == ["service-graphs", "span-metrics"]
    assert set(document["distributor"]["receivers"]) == {"otlp"}, "only OTLP: the collector is the one writer"
    assert values(stack_plan("dev"), "tempo")["tempo"]["metricsGenerator"]["enabled"] is True


def test_tempo_retention_and_volume_come_from_config() -> None:
    plan = run_program("dev", {"tracing.tempo.retention": "3d", "tracing.tempo.storageSize": "25Gi",
                               "storage.retainOnDestroy": "false"})
    assert tempo_config(plan)["compactor"]["compaction"]["block_retention"] == "72h"
    persistence = values(plan, "tempo")["persistence"]
    assert persistence["enabled"] and persistence["size"] == "25Gi"
    assert persistence["enableStatefulSetAutoDeletePVC"] is True
    default = values(stack_plan("dev"), "tempo")
    assert default["persistence"]["enableStatefulSetAutoDeletePVC"] is False, "kept on uninstall by default"
    assert tempo_config(stack_plan("dev"))["compactor"]["compaction"]["block_retention"] == "48h"


def test_tempo_resources_come_from_config() -> None:
    resources = '{"requests": {"cpu": "200m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "3Gi"}}'
    plan = run_program("dev", {"tracing.tempo.resources": resources})
    assert values(plan, "tempo")["tempo"]["resources"]["limits"] == {"cpu": "2", "memory": "3Gi"}


@pytest.mark.parametrize(("given", "expected"), [("48h", "48h"), ("7d", "168h"), ("90m", "1h30m0s"), ("1w", "168h")])
def test_go_duration(given: str, expected: str) -> None:
    assert tracing_pipeline._go_duration(given) == expected


# ---------------------------------------------------------------------------------------------
# Self-monitoring and the application environment
# ---------------------------------------------------------------------------------------------


def test_collector_and_tempo_metrics_are_scraped_after_the_crds() -> None:
    plan = stack_plan("dev")
    kps = chart(plan, "kube-prometheus-stack").urn
    monitors = {r.k8s_name: r for r in plan.k8s("ServiceMonitor") if r.namespace == "tracing"}
    assert set(monitors) == {tracing_pipeline.COLLECTOR_FULLNAME, tracing_pipeline.TEMPO_FULLNAME}
    for monitor in monitors.values():
        assert kps in monitor.dependencies, f"{monitor.k8s_name} must wait for the prometheus-operator CRDs"
    assert monitors[tracing_pipeline.COLLECTOR_FULLNAME].inputs["spec"]["endpoints"][0]["port"] == "metrics"
    reader = collector(plan)["service"]["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]["prometheus"]
    assert reader["port"] == tracing_pipeline.METRICS_PORT
    assert values(plan, "opentelemetry-collector")["ports"]["metrics"]["enabled"] is True


@pytest.mark.parametrize("stack", ["dev", "gpu"])
def test_collector_self_metrics_keep_prometheus_suffixes(stack: str) -> None:
    """0.158 drops ``_total`` and unit suffixes unless told not to: the alerts and the contract need them."""
    reader = collector(stack_plan(stack))["service"]["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]
    assert reader["prometheus"]["without_type_suffix"] is False
    assert reader["prometheus"]["without_units"] is False


def test_app_environment_points_at_the_collector() -> None:
    refs = tracing_pipeline.endpoints(config.StackConfig().namespaces.tracing)
    env = tracing_pipeline.app_environment(refs, "my-app")
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector.tracing.svc.cluster.local:4317"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc" and env["OTEL_SERVICE_NAME"] == "my-app"
    outputs = stack_plan("dev").outputs
    assert outputs["clusterOtelEnvironment"] == tracing_pipeline.app_environment(refs, "my-llm-app")
    assert outputs["appOtelEnvironment"] == outputs["clusterOtelEnvironment"], "compatibility alias"
