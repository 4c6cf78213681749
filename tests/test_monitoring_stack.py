"""MonitoringStack: chart values, secrets kept out of them, datasources wired, dashboards and rules provisioned."""

from __future__ import annotations

import json
import logging
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

import config
from components import dashboards, logging_stack, monitoring_stack, tracing_pipeline
from components.contracts import ServiceRef
from offline.plan import SECRET, Plan
from offline.runner import FAKE_SECRET, run_program
from tests.conftest import resource_named
from tests.support import require_tool, rule_groups

MONITORING_ONLY = '''
import pulumi_kubernetes

import config
from components import logging_stack, tracing_pipeline
from components.monitoring_stack import MonitoringStack
from tests.support import monitoring_args

cfg, secrets = config.load()
tracing = tracing_pipeline.endpoints(cfg.namespaces.tracing)
logging = logging_stack.endpoints(cfg.namespaces.logging) if cfg.logging.enabled else None
stack = MonitoringStack(
    "monitoring",
    monitoring_args(cfg, secrets, tracing, logging),
)
# Probe: what the engine receives for the exported password (a secret reads as "[secret]").
pulumi_kubernetes.core.v1.ConfigMap("password-probe", data={"password": stack.grafana_admin_password})
'''

SECRET_STACK = """
config:
  llm-tracing-infra:engine: mock
  llm-tracing-infra:grafanaAdminPassword:
    secure: AAABAKmYz1
  llm-tracing-infra:alertmanagerWebhookUrl:
    secure: AAABAKmYz2
"""


def monitoring_plan(
    tmp_path: Path, stack: str = "dev", overrides: dict[str, str] | None = None, *, secret_stack: bool = False
) -> Plan:
    """Only MonitoringStack, with stand-in Tempo/Loki refs: this component's behaviour on its own."""
    program = tmp_path / "monitoring.py"
    program.write_text(MONITORING_ONLY)
    if secret_stack:
        (tmp_path / "Pulumi.secrets.yaml").write_text(SECRET_STACK)
        return run_program("secrets", overrides, program=program, root=tmp_path)
    return run_program(stack, overrides, program=program)



def values_of(plan: Plan) -> dict[str, Any]:
    (chart,) = [c for c in plan.charts() if c.inputs.get("chart") == "kube-prometheus-stack"]
    return dict(chart.inputs["values"])


def datasources_by_uid(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {ds["uid"]: ds for ds in values["grafana"]["additionalDataSources"]}


def walk(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every (key path, leaf) of a nested structure."""
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in walk(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [item for i, v in enumerate(value) for item in walk(v, f"{path}[{i}]")]
    return [(path, value)]


# ---------------------------------------------------------------------------------------------
# Services, chart values
# ---------------------------------------------------------------------------------------------


def test_endpoints_are_the_services_the_fullname_overrides_produce(tmp_path: Path) -> None:
    plan = monitoring_plan(tmp_path, overrides={"namespaces.monitoring": "observability"})
    values = values_of(plan)
    (chart,) = [c for c in plan.charts() if c.inputs.get("chart") == "kube-prometheus-stack"]
    cfg = config.StackConfig.model_validate({"namespaces": {"monitoring": "observability"}})
    refs = monitoring_stack.endpoints(cfg.namespaces.monitoring)
    # templates: "<fullname>-prometheus" / "<fullname>-alertmanager" (fullname truncated to 26), grafana.fullname
    assert len(values["fullnameOverride"]) <= 26
    assert refs.prometheus == ServiceRef(f"{values['fullnameOverride']}-prometheus", "observability", 9090, "http")
    assert refs.alertmanager == ServiceRef(f"{values['fullnameOverride']}-alertmanager", "observability", 9093, "http")
    # the Grafana subchart names its Service "<release>-grafana" (no fullnameOverride key in its values.yaml)
    assert "fullnameOverride" not in values["grafana"]
    # service.targetPort defaults to 3000 (the pods' port, which NetworkPolicies match)
    assert refs.grafana == ServiceRef(f"{chart.inputs['name']}-grafana", "observability", 80, "http", 3000)


def test_prometheus_settings_follow_config(tmp_path: Path) -> None:
    spec = values_of(monitoring_plan(tmp_path))["prometheus"]["prometheusSpec"]
    assert spec["enableRemoteWriteReceiver"] is True
    assert "exemplar-storage" in spec["enableFeatures"]
    for kind in ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig"):
        assert spec[f"{kind}SelectorNilUsesHelmValues"] is False, kind
    assert spec["retention"] == "7d"

    changed = values_of(monitoring_plan(tmp_path, overrides={
        "monitoring.prometheusRetention": "3d", "monitoring.prometheusStorageSize": "5Gi",
        "monitoring.prometheusResources": json.dumps(
            {"requests": {"cpu": "100m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}}
        ),
        "storage.retainOnDestroy": "false",
    }))["prometheus"]["prometheusSpec"]
    assert changed["retention"] == "3d"
    assert changed["storageSpec"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert changed["resources"]["limits"]["memory"] == "2Gi"
    assert changed["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Delete"


def test_every_workload_block_has_requests_and_limits(tmp_path: Path) -> None:
    values = values_of(monitoring_plan(tmp_path))
    blocks = {path: leaf for path, leaf in walk(values) if ".resources." in f".{path}" and "storageSpec" not in path}
    owners = {p.split(".resources.")[0] for p in blocks}
    assert owners >= {
        "prometheus.prometheusSpec", "alertmanager.alertmanagerSpec", "prometheusOperator",
        "prometheusOperator.prometheusConfigReloader", "prometheusOperator.admissionWebhooks.patch",
        "kube-state-metrics", "prometheus-node-exporter", "grafana", "grafana.sidecar",
    }
    for owner in owners:
        for kind in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                assert f"{owner}.resources.{kind}.{resource}" in blocks, (owner, kind, resource)


def test_no_sidecar_for_node_exporter_jobs_and_scrapers(tmp_path: Path) -> None:
    values = values_of(monitoring_plan(tmp_path))
    opt_out = {"sidecar.istio.io/inject": "false"}
    assert values["prometheus-node-exporter"]["podLabels"].items() >= opt_out.items()
    assert values["prometheusOperator"]["admissionWebhooks"]["patch"]["podAnnotations"] == opt_out
    assert values["prometheus"]["prometheusSpec"]["podMetadata"]["labels"] == opt_out
    assert values["prometheusOperator"]["podLabels"] == opt_out


def test_no_ingress_switched_on(tmp_path: Path) -> None:
    values = values_of(monitoring_plan(tmp_path))
    switched = [path for path, leaf in walk(values) if "ingress" in path.lower() and leaf is True]
    assert switched == []


# ---------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------


def test_generated_grafana_password_is_a_secret_outside_the_values(tmp_path: Path) -> None:
    plan = monitoring_plan(tmp_path)
    admin = next(r for r in plan.k8s("Secret") if r.k8s_name == monitoring_stack.GRAFANA_ADMIN_SECRET)
    # judged per key (issue 17): the user name is a plain literal, the password a generated secret
    assert admin.inputs["stringData"] == {"admin-user": "admin", "admin-password": SECRET}
    assert any(r.type == "random:index/randomPassword:RandomPassword" for r in plan.resources)
    grafana = values_of(plan)["grafana"]
    # existingSecret: the chart generates nothing at render time, so a re-run changes nothing.
    assert grafana["admin"]["existingSecret"] == admin.k8s_name
    assert "adminPassword" not in grafana
    assert plan.depends_on(next(iter(plan.charts())).urn, admin.urn)
    assert resource_named(plan, "password-probe").inputs["data"]["password"] == SECRET


def test_secret_config_values_never_appear_in_the_plan(tmp_path: Path) -> None:
    plan = monitoring_plan(tmp_path, overrides={"monitoring.alertmanager.receiver": "slack"}, secret_stack=True)
    assert FAKE_SECRET not in plan.dumps()
    assert not any(r.type.startswith("random:") for r in plan.resources)  # the given password is used
    values = values_of(plan)
    assert SECRET not in json.dumps(values)  # a secret in values would hide all of them
    receiver = next(r for r in plan.k8s("Secret") if r.k8s_name == monitoring_stack.RECEIVER_SECRET)
    assert receiver.inputs["stringData"] == SECRET
    assert values["alertmanager"]["alertmanagerSpec"]["secrets"] == [receiver.k8s_name]
    (slack,) = values["alertmanager"]["config"]["receivers"][1]["slack_configs"]
    assert slack["api_url_file"] == f"/etc/alertmanager/secrets/{receiver.k8s_name}/url"
    assert slack["channel"] == "#alerts-secrets", "a channel per environment (stack)"
    assert values["alertmanager"]["config"]["route"]["receiver"] == "slack-secrets"


def test_alertmanager_routes_as_the_design_says() -> None:
    """Slack by default, a receiver and channel per environment, grouping 30s/5m/4h; no Slack (and no
    Secret) while the webhook secret is missing."""
    am = config.StackConfig().monitoring.alertmanager
    routed = monitoring_stack.alertmanager_config(am, "prod", receiver_secret=True)
    route = routed["route"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == ("30s", "5m", "4h")
    assert route["receiver"] == "slack-prod"
    (slack,) = routed["receivers"][1]["slack_configs"]
    assert slack["channel"] == "#alerts-prod"
    assert "://" not in json.dumps(routed), "the webhook URL is read from the mounted Secret, never written"
    quiet = monitoring_stack.alertmanager_config(am, "prod", receiver_secret=False)
    assert quiet["route"]["receiver"] == "null" and quiet["receivers"] == [{"name": "null"}]



def test_slack_without_its_secret_sends_nothing_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        dev = monitoring_plan(tmp_path)
    assert not [r for r in dev.k8s("Secret") if r.k8s_name == monitoring_stack.RECEIVER_SECRET]
    values = values_of(dev)
    assert values["alertmanager"]["alertmanagerSpec"]["secrets"] == []
    assert values["alertmanager"]["config"]["route"]["receiver"] == "null"
    assert "alertmanagerWebhookUrl" in caplog.text, "the warning names the missing secret"


def test_alertmanager_receiver_and_intervals_follow_config() -> None:
    cfg = config.StackConfig.model_validate({
        "monitoring": {"alertmanager": {"receiver": "webhook", "groupWait": "10s", "repeatInterval": "1h",
                                        "slackChannel": "#ignored"}}
    })
    routed = monitoring_stack.alertmanager_config(cfg.monitoring.alertmanager, "dev", receiver_secret=True)
    assert routed["route"]["receiver"] == "webhook-dev"
    assert (routed["route"]["group_wait"], routed["route"]["repeat_interval"]) == ("10s", "1h")
    (hook,) = routed["receivers"][1]["webhook_configs"]
    assert hook == {"url_file": monitoring_stack.RECEIVER_URL_FILE, "send_resolved": True}


# ---------------------------------------------------------------------------------------------
# Grafana datasources
# ---------------------------------------------------------------------------------------------


def test_datasources_are_cross_linked_by_fixed_uids(tmp_path: Path) -> None:
    sources = datasources_by_uid(values_of(monitoring_plan(tmp_path)))
    assert set(sources) == {"prometheus", "tempo", "loki", "alertmanager"}
    exemplars = sources["prometheus"]["jsonData"]["exemplarTraceIdDestinations"]
    assert {e["datasourceUid"] for e in exemplars} == {"tempo"}
    tempo = sources["tempo"]["jsonData"]
    assert tempo["tracesToLogsV2"]["datasourceUid"] == "loki"
    assert tempo["tracesToMetrics"]["datasourceUid"] == "prometheus"
    assert tempo["serviceMap"]["datasourceUid"] == "prometheus"
    assert tempo["nodeGraph"]["enabled"] is True
    derived = sources["loki"]["jsonData"]["derivedFields"]
    assert {d["datasourceUid"] for d in derived} == {"tempo"}
    # Grafana expands $VAR in provisioning files: its own macros must be escaped as $$.
    assert all(d["url"] == "$${__value.raw}" for d in derived)
    # every cross-link points at a provisioned datasource
    links = {leaf for path, leaf in walk(sources) if path.endswith("datasourceUid")}
    assert links <= set(sources)


def test_datasource_urls_are_the_service_refs_passed_in(tmp_path: Path) -> None:
    overrides = {"namespaces.tracing": "traces", "namespaces.logging": "logs", "namespaces.monitoring": "obs"}
    sources = datasources_by_uid(values_of(monitoring_plan(tmp_path, overrides=overrides)))
    namespaces = {"tracing": "traces", "logging": "logs", "monitoring": "obs"}
    cfg = config.StackConfig.model_validate({"namespaces": namespaces})
    assert sources["tempo"]["url"] == tracing_pipeline.endpoints(cfg.namespaces.tracing).tempo_http.url()
    assert sources["loki"]["url"] == logging_stack.endpoints(cfg.namespaces.logging).loki.url()
    assert ".traces.svc.cluster.local:" in sources["tempo"]["url"]
    assert ".logs.svc.cluster.local:" in sources["loki"]["url"]
    assert sources["prometheus"]["url"] == "http://kps-prometheus.obs.svc.cluster.local:9090"
    assert sources["alertmanager"]["url"] == "http://kps-alertmanager.obs.svc.cluster.local:9093"


def test_without_logging_there_is_no_loki_link(tmp_path: Path) -> None:
    values = values_of(monitoring_plan(tmp_path, overrides={"logging.enabled": "false"}))
    sources = datasources_by_uid(values)
    assert "loki" not in sources and "tracesToLogsV2" not in sources["tempo"]["jsonData"]
    assert values["grafana"]["prune"] is True  # so a Loki provisioned earlier goes away


def test_chart_default_datasources_are_replaced(tmp_path: Path) -> None:
    sidecar = values_of(monitoring_plan(tmp_path))["grafana"]["sidecar"]
    assert sidecar["datasources"]["defaultDatasourceEnabled"] is False
    assert sidecar["datasources"]["alertmanager"]["enabled"] is False
    assert sidecar["dashboards"] == {
        "enabled": True, "label": "grafana_dashboard", "labelValue": "1", "searchNamespace": "ALL",
        "folderAnnotation": "grafana_folder", "provider": {"foldersFromFilesStructure": True},
    }


def test_dashboards_go_into_folders(tmp_path: Path) -> None:
    """The sidecar reads each ConfigMap's folder annotation; every platform dashboard names one."""
    plan = monitoring_plan(tmp_path, "gpu")
    folders = {
        r.k8s_name: (r.inputs["metadata"].get("annotations") or {}).get(monitoring_stack.DASHBOARD_FOLDER_ANNOTATION)
        for r in plan.k8s("ConfigMap") if r.k8s_name.startswith("dashboard-")
    }
    assert folders == {
        "dashboard-llm-vllm-serving": "LLM serving", "dashboard-llm-request-overview": "LLM serving",
        "dashboard-llm-gpu-dcgm": "GPU", "dashboard-llm-tracing-pipeline": "Observability pipeline",
    }
    with pytest.raises(ValueError, match="no folder"):
        dashboards.folder_of("a-new-dashboard")


def test_prometheus_scrapes_every_15s_and_annotated_pods(tmp_path: Path) -> None:
    spec = values_of(monitoring_plan(tmp_path))["prometheus"]["prometheusSpec"]
    assert spec["scrapeInterval"] == "15s"
    (job,) = spec["additionalScrapeConfigs"]
    assert job["job_name"] == "kubernetes-pods" and job["kubernetes_sd_configs"] == [{"role": "pod"}]
    keep = job["relabel_configs"][0]
    assert keep == {"source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"], "regex": "true",
                    "action": "keep"}, "opt-in only: pods without the annotation are not scraped"
    spec = values_of(monitoring_plan(tmp_path, overrides={"monitoring.scrapeInterval": "30s"}))["prometheus"]
    assert spec["prometheusSpec"]["scrapeInterval"] == "30s"


def test_annotated_pods_job_passes_promtool(tmp_path: Path) -> None:
    """promtool checks the relabelling (regexes, actions). Debian's promtool is built without the
    Kubernetes service discovery, so the check swaps the job's SD block for a static target."""
    job = monitoring_stack.annotated_pods_job()
    assert job.pop("kubernetes_sd_configs") == [{"role": "pod"}]
    job["static_configs"] = [{"targets": ["10.1.2.3:8080"]}]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "15s"}, "scrape_configs": [job]
    }))
    checked = subprocess.run([require_tool("promtool"), "check", "config", "prometheus.yml"], cwd=tmp_path,
                             capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # The port rule as Prometheus applies it (anchored RE2; these patterns mean the same in Python's re).
    (port_rule,) = [r for r in job["relabel_configs"] if r.get("target_label") == "__address__"]
    match = re.fullmatch(port_rule["regex"], "10.1.2.3:8080;9100")
    assert match and port_rule["replacement"].replace("$1", match[1]).replace("$2", match[2]) == "10.1.2.3:9100"


def test_real_program_wires_grafana_to_the_tracing_and_logging_services() -> None:
    """The whole program: Grafana's Tempo/Loki URLs are the peers' endpoints and follow their namespaces."""
    overrides = {"namespaces.tracing": "traces-x", "namespaces.logging": "logs-x"}
    sources = datasources_by_uid(values_of(run_program("dev", overrides)))
    cfg = config.StackConfig.model_validate({"namespaces": {"tracing": "traces-x", "logging": "logs-x"}})
    tempo = tracing_pipeline.endpoints(cfg.namespaces.tracing).tempo_http
    loki = logging_stack.endpoints(cfg.namespaces.logging).loki
    assert sources["tempo"]["url"] == tempo.url() and ".traces-x.svc" in tempo.url()
    assert sources["loki"]["url"] == loki.url() and ".logs-x.svc" in loki.url()


# ---------------------------------------------------------------------------------------------
# Alert rules and dashboards as objects
# ---------------------------------------------------------------------------------------------


def test_prometheus_rule_waits_for_the_chart_and_carries_the_rule_groups(tmp_path: Path) -> None:
    plan = monitoring_plan(tmp_path, "gpu")
    rule = resource_named(plan, "monitoring-alert-rules")
    assert (rule.api_version, rule.kind, rule.namespace) == ("monitoring.coreos.com/v1", "PrometheusRule", "monitoring")
    assert resource_named(plan, "monitoring-kps").urn in rule.dependencies
    cfg = config.StackConfig.model_validate({"engine": "vllm", "gpu": {"enabled": True}})
    expected = rule_groups(cfg)
    assert [g["name"] for g in rule.inputs["spec"]["groups"]] == [g["name"] for g in expected]
    assert rule.inputs["spec"]["groups"][-1] == expected[-1]  # the GPU group, on the GPU stack only
    dev_rule = resource_named(monitoring_plan(tmp_path), "monitoring-alert-rules")
    assert "llm-tracing-infra.gpu" not in [g["name"] for g in dev_rule.inputs["spec"]["groups"]]


def dashboard_maps(plan: Plan) -> dict[str, dict[str, Any]]:
    found = {}
    for cm in plan.k8s("ConfigMap"):
        if cm.metadata.get("labels", {}).get("grafana_dashboard") == "1":
            assert cm.namespace == "monitoring"
            ((filename, text),) = cm.inputs["data"].items()
            found[filename] = json.loads(text)
    return found


def test_dashboards_are_provisioned_as_labelled_config_maps(tmp_path: Path) -> None:
    dev = dashboard_maps(monitoring_plan(tmp_path))
    assert set(dev) == {"llm-vllm-serving.json", "llm-tracing-pipeline.json", "llm-request-overview.json"}
    gpu = dashboard_maps(monitoring_plan(tmp_path, "gpu"))
    assert set(gpu) == set(dev) | {"llm-gpu-dcgm.json"}
    assert gpu == dashboards.all_dashboards(gpu_enabled=True)


EXPECTED_PANELS = {
    "llm-vllm-serving": ["Token throughput", "Time to first token", "End-to-end latency", "KV cache usage"],
    "llm-gpu-dcgm": ["GPU utilisation", "Temperature", "Framebuffer used", "Last XID error"],
    "llm-tracing-pipeline": ["Spans accepted / refused", "Spans exported / failed", "Tempo ingestion failures"],
    "llm-request-overview": ["Recent LLM requests (click a trace ID)", "Service graph"],
}


@pytest.mark.parametrize("uid", sorted(EXPECTED_PANELS))
def test_dashboard_json_has_panels_and_known_datasources(uid: str) -> None:
    model = dashboards.all_dashboards(gpu_enabled=True)[f"{uid}.json"]
    json.loads(json.dumps(model))
    assert model["uid"] == uid
    titles = [p["title"] for p in model["panels"]]
    assert set(EXPECTED_PANELS[uid]) <= set(titles)
    ids = [p["id"] for p in model["panels"]]
    assert len(ids) == len(set(ids))
    provisioned = {"prometheus", "tempo", "loki", "alertmanager"}
    for panel in model["panels"]:
        if panel["type"] == "row":
            continue
        uids = {panel["datasource"]["uid"]} | {t["datasource"]["uid"] for t in panel["targets"]}
        assert uids <= provisioned, (panel["title"], uids)
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert all(ref_ids) and len(ref_ids) == len(set(ref_ids)), panel["title"]


def test_request_overview_links_to_traces() -> None:
    model = dashboards.all_dashboards(gpu_enabled=False)["llm-request-overview.json"]
    tempo_panels = [p for p in model["panels"] if p["datasource"]["uid"] == dashboards.TEMPO_UID]
    queries = {t.get("queryType") for p in tempo_panels for t in p["targets"]}
    assert {"traceql", "serviceMap"} <= queries
    exemplar_panels = [p for p in model["panels"] if any(t.get("exemplar") for t in p.get("targets", []))]
    assert exemplar_panels, "a latency panel shows exemplars that open the trace"


def test_dashboard_queries_use_current_metric_names() -> None:
    text = json.dumps(dashboards.all_dashboards(gpu_enabled=True))
    assert "vllm:kv_cache_usage_perc" in text and "gpu_cache_usage_perc" not in text
    for counter in ("otelcol_receiver_accepted_spans", "otelcol_receiver_refused_spans", "otelcol_exporter_sent_spans"):
        assert f"{counter}_total" in text and f"{counter}[" not in text
