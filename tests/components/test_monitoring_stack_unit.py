"""MonitoringStack alone: kube-prometheus-stack from its section, datasources on the given endpoints, rules."""

from __future__ import annotations

from offline.plan import SECRET, Plan
from offline.runner import FAKE_SECRET
from tests.components.conftest import Build, named, of_kind

SOURCE = """
import pulumi
import versions
from components.alert_rules import AlertScope
from components.contracts import LoggingEndpoints, NamespaceRef, ServiceRef, TracingEndpoints
from components.monitoring_stack import MonitoringStack, MonitoringStackArgs
from config.sections import Charts, GeneratedSecrets, Monitoring

otel = ServiceRef("otel", "traces", 4317, "grpc")
stack = MonitoringStack("monitoring", MonitoringStackArgs(
    settings=Monitoring.model_validate({settings}),
    namespace=NamespaceRef.existing("mon"), chart=versions.CHARTS["kube-prometheus-stack"], charts=Charts(),
    generated_secrets=GeneratedSecrets(), retain=False,
    grafana_admin_password=pulumi.Output.secret("{fake}") if {given} else None,
    alertmanager_webhook_url=pulumi.Output.secret("https://hooks.example.test/{fake}"), environment="staging",
    alert_scope=AlertScope(
        llm_namespaces=("models",), vllm=ServiceRef("vllm", "models", 8000), vllm_deployed=True, gpu={gpu},
        gpu_memory_utilization=0.8,
    ),
    gpu_dashboards={gpu},
    tracing=TracingEndpoints(otel, otel, ServiceRef("tempo", "traces", 3200), ServiceRef("tempo", "traces", 4317)),
    logging=LoggingEndpoints(ServiceRef("loki", "logs", 3100)) if {logging} else None,
))
"""


def monitoring(build: Build, settings: dict[str, object] | None = None, *, given: bool = False,
               gpu: bool = False, logging: bool = True) -> Plan:
    # Secret values read as the offline preview's placeholder, which the plan hides as "[secret]".
    return build(SOURCE.format(settings=repr(settings or {}), given=given, gpu=gpu, logging=logging, fake=FAKE_SECRET))


def datasources(plan: Plan) -> dict[str, str]:
    values = named(plan, "monitoring-kps").inputs["values"]
    return {d["type"]: d["url"] for d in values["grafana"]["additionalDataSources"]}


def test_datasources_point_at_the_given_endpoints(build: Build) -> None:
    sources = datasources(monitoring(build))
    assert sources["tempo"] == "http://tempo.traces.svc.cluster.local:3200"
    assert sources["loki"] == "http://loki.logs.svc.cluster.local:3100"
    assert sources["prometheus"] == "http://kps-prometheus.mon.svc.cluster.local:9090"
    assert "loki" not in datasources(monitoring(build, logging=False))


def test_chart_values_from_the_section_and_the_retain_flag(build: Build) -> None:
    plan = monitoring(build, {"prometheusRetention": "3d", "alertmanager": {"receiver": "webhook"}})
    spec = named(plan, "monitoring-kps").inputs["values"]["prometheus"]["prometheusSpec"]
    assert spec["retention"] == "3d"
    assert spec["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Delete"
    (receiver,) = [s for s in of_kind(plan, "Secret") if s.k8s_name == "alertmanager-receiver"]
    assert receiver.inputs["stringData"] == SECRET


def test_admin_password_given_or_generated_stays_secret(build: Build) -> None:
    generated = monitoring(build)
    assert [r for r in generated.resources if r.name == "monitoring-grafana-admin" and not r.is_kubernetes_object]
    given = monitoring(build, given=True)
    assert not [r for r in given.resources if r.type.startswith("random:")]
    for plan in (generated, given):
        (secret,) = [s for s in of_kind(plan, "Secret") if s.k8s_name == "grafana-admin"]
        # judged per key (issue 17): the literal user name shows, the password never does
        assert secret.inputs["stringData"] == {"admin-user": "admin", "admin-password": SECRET}


def test_rules_and_dashboards_follow_the_scope(build: Build) -> None:
    plan = monitoring(build, gpu=True)
    (rule,) = of_kind(plan, "PrometheusRule")
    groups = [g["name"] for g in rule.inputs["spec"]["groups"]]
    assert "llm-tracing-infra.gpu" in groups
    assert plan.depends_on(rule.urn, named(plan, "monitoring-kps").urn)
    down = [r for g in rule.inputs["spec"]["groups"] for r in g["rules"] if r.get("alert") == "VllmDown"]
    assert 'namespace="models", job="vllm"' in down[0]["expr"]
    assert "llm-tracing-infra.gpu" not in [
        g["name"] for g in of_kind(monitoring(build), "PrometheusRule")[0].inputs["spec"]["groups"]
    ]
    dashboards = {c.k8s_name for c in of_kind(plan, "ConfigMap") if c.k8s_name.startswith("dashboard-")}
    assert any("gpu" in d for d in dashboards)
