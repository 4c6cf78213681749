"""TracingPipeline alone: Tempo and the collector from its section, wired to the given Prometheus and Langfuse."""

from __future__ import annotations

import yaml

from offline.plan import SECRET, Plan
from offline.runner import FAKE_SECRET
from tests.components.conftest import Build, named, of_kind

SOURCE = """
import pulumi
import pulumi_kubernetes as k8s
import versions
from components.contracts import CrdReadiness, LangfuseConnection, NamespaceRef, ServiceRef
from components.tracing_pipeline import TracingPipeline, TracingPipelineArgs
from config.sections import Charts, Tracing

crds = CrdReadiness("monitoring.coreos.com", k8s.core.v1.ConfigMap("stand-in-crds", data={{}}))
langfuse = LangfuseConnection(
    ServiceRef("lf-web", "lf", 3000), pulumi.Output.secret("pk-{fake}"), pulumi.Output.secret("sk-{fake}")
)
TracingPipeline("tracing", TracingPipelineArgs(
    settings=Tracing.model_validate(
        {{"collector": {{"replicas": 2, "queueSize": 500}}, "tempo": {{"retention": "7d"}}}}
    ),
    namespace=NamespaceRef.existing("traces"), tempo_chart=versions.CHARTS["tempo"],
    collector_chart=versions.CHARTS["opentelemetry-collector"], charts=Charts(),
    collector_image="example.test/otelcol:1.2.3", retain={retain},
    prometheus=ServiceRef("prom", "mon", 9090), monitoring_crds=crds, cluster="east",
    langfuse=langfuse if {with_langfuse} else None, langfuse_self_reporting=("proxy",),
))
"""


def pipeline(build: Build, *, retain: bool = False, with_langfuse: bool = True) -> Plan:
    # Secret values read as the offline preview's placeholder, which the plan hides as "[secret]".
    return build(SOURCE.format(retain=retain, with_langfuse=with_langfuse, fake=FAKE_SECRET))


def test_collector_from_its_section_and_inputs(build: Build) -> None:
    plan = pipeline(build)
    values = named(plan, "tracing-collector").inputs["values"]
    assert values["replicaCount"] == 2
    assert values["image"] == {"repository": "example.test/otelcol", "tag": "1.2.3"}
    config = values["alternateConfig"]
    assert config["exporters"]["otlp_grpc/tempo"]["endpoint"] == "tempo.traces.svc.cluster.local:4317"
    assert config["exporters"]["otlp_grpc/tempo"]["sending_queue"]["queue_size"] == 500
    assert values["statefulset"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Delete"


def test_langfuse_export_uses_the_connection_and_keeps_its_keys_secret(build: Build) -> None:
    plan = pipeline(build)
    config = named(plan, "tracing-collector").inputs["values"]["alternateConfig"]
    exporter = config["exporters"]["otlp_http/langfuse"]
    assert exporter["endpoint"] == "http://lf-web.lf.svc.cluster.local:3000/api/public/otel"
    drops = config["processors"]["filter/langfuse"]["traces"]["span"]
    assert 'resource.attributes["service.name"] == "proxy"' in drops
    (auth,) = [s for s in of_kind(plan, "Secret") if s.k8s_name == "otel-collector-langfuse"]
    assert auth.inputs["stringData"] == SECRET
    without = named(pipeline(build, with_langfuse=False), "tracing-collector").inputs["values"]["alternateConfig"]
    assert "otlp_http/langfuse" not in without["exporters"]


def test_tempo_writes_metrics_to_the_given_prometheus_and_retains_on_request(build: Build) -> None:
    plan = pipeline(build, retain=True)
    values = named(plan, "tracing-tempo").inputs["values"]
    tempo = yaml.safe_load(values["config"])
    assert tempo["metrics_generator"]["storage"]["remote_write"][0]["url"] == (
        "http://prom.mon.svc.cluster.local:9090/api/v1/write"
    )
    assert tempo["compactor"]["compaction"]["block_retention"] == "168h"
    assert values["persistence"]["enableStatefulSetAutoDeletePVC"] is False


def test_service_monitors_wait_for_the_given_crds(build: Build) -> None:
    plan = pipeline(build)
    crds = named(plan, "stand-in-crds").urn
    monitors = of_kind(plan, "ServiceMonitor")
    assert {m.k8s_name for m in monitors} == {"otel-collector", "tempo"}
    assert all(crds in m.dependencies for m in monitors)
    assert plan.depends_on(named(plan, "tracing-collector").urn, named(plan, "tracing-tempo").urn)
