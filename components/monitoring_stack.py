"""MonitoringStack: Prometheus, Alertmanager and Grafana (kube-prometheus-stack), provisioned.

A user opens Grafana and finds the datasources cross-linked (metrics -> traces -> logs), the
platform's dashboards and alert rules in place: nothing to click together. Peers scrape and
alert through the prometheus-operator CRDs this chart installs, so they depend on ``crds``.

Secrets stay out of the chart values: Grafana's admin password and Alertmanager's receiver
URL live in Secrets created here, which the chart references by name.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict

import versions
from components import alert_rules, dashboards
from components._k8s import NO_SIDECAR_ANNOTATIONS, NO_SIDECAR_LABELS, TOKEN_PREFIX, labels
from components._secrets import generated_secret
from components.alert_rules import AlertScope
from components.charts import helm_chart
from components.contracts import (
    CrdReadiness,
    LoggingEndpoints,
    MonitoringEndpoints,
    NamespaceRef,
    ServiceRef,
    TracingEndpoints,
)
from components.dashboards import ALERTMANAGER_UID, LOKI_UID, PROMETHEUS_UID, TEMPO_UID
from config.sections import Alertmanager, Charts, GeneratedSecrets, Monitoring
from config.types import resources

FULLNAME = "kps"
"""Release name and ``fullnameOverride``: Services ``kps-prometheus``, ``kps-alertmanager``, ``kps-grafana``."""
GRAFANA_FULLNAME = f"{FULLNAME}-grafana"
"""The Grafana subchart names its Service ``<release>-grafana``."""
GRAFANA_ADMIN_SECRET = "grafana-admin"
RECEIVER_SECRET = "alertmanager-receiver"
RECEIVER_URL_FILE = f"/etc/alertmanager/secrets/{RECEIVER_SECRET}/url"
"""Where the operator mounts ``alertmanagerSpec.secrets`` entries: ``/etc/alertmanager/secrets/<name>/<key>``."""
DASHBOARD_LABEL = "grafana_dashboard"
DASHBOARD_FOLDER_ANNOTATION = "grafana_folder"

# Small helper containers (config reloaders, Grafana's k8s-sidecars, webhook cert jobs).
_HELPER = resources("10m", "32Mi", "100m", "96Mi")


def endpoints(namespace: str) -> MonitoringEndpoints:
    """Services as the chart renders them (templates/prometheus/service.yaml, alertmanager/service.yaml, grafana)."""
    ns = namespace
    return MonitoringEndpoints(
        prometheus=ServiceRef(f"{FULLNAME}-prometheus", ns, 9090, "http"),
        grafana=ServiceRef(GRAFANA_FULLNAME, ns, 80, "http", target_port=3000),  # the chart's service.targetPort
        alertmanager=ServiceRef(f"{FULLNAME}-alertmanager", ns, 9093, "http"),
    )


def _literal(text: str) -> str:
    """Grafana expands ``$VAR`` in provisioning files; ``$$`` keeps a literal ``$`` for its own macros."""
    return text.replace("$", "$$")


def grafana_datasources(
    monitoring: MonitoringEndpoints, tracing: TracingEndpoints, logging: LoggingEndpoints | None
) -> list[dict[str, Any]]:
    """Datasources with fixed uids, cross-linked: exemplars -> Tempo, Tempo -> Loki and Prometheus, Loki -> Tempo."""
    tempo_json: dict[str, Any] = {
        "tracesToMetrics": {
            "datasourceUid": PROMETHEUS_UID,
            "spanStartTimeShift": "-5m",
            "spanEndTimeShift": "5m",
            "tags": [{"key": "service.name", "value": "service"}],
            "queries": [
                {"name": "Request rate", "query": _literal("sum(rate(traces_spanmetrics_calls_total{$__tags}[5m]))")},
                {
                    "name": "p95 latency",
                    "query": _literal(
                        "histogram_quantile(0.95, sum by (le) (rate(traces_spanmetrics_latency_bucket{$__tags}[5m])))"
                    ),
                },
            ],
        },
        "serviceMap": {"datasourceUid": PROMETHEUS_UID},
        "nodeGraph": {"enabled": True},
        "search": {"hide": False},
    }
    sources: list[dict[str, Any]] = [
        {
            "name": "Prometheus",
            "type": "prometheus",
            "uid": PROMETHEUS_UID,
            "access": "proxy",
            "url": monitoring.prometheus.url(),
            "isDefault": True,
            "jsonData": {
                "httpMethod": "POST",
                # Tempo's metrics-generator labels exemplars traceID; OpenTelemetry SDKs use trace_id.
                "exemplarTraceIdDestinations": [
                    {"name": "traceID", "datasourceUid": TEMPO_UID, "urlDisplayLabel": "View trace"},
                    {"name": "trace_id", "datasourceUid": TEMPO_UID, "urlDisplayLabel": "View trace"},
                ],
            },
        },
        {
            "name": "Tempo",
            "type": "tempo",
            "uid": TEMPO_UID,
            "access": "proxy",
            "url": tracing.tempo_http.url(),
            "jsonData": tempo_json,
        },
        {
            "name": "Alertmanager",
            "type": "alertmanager",
            "uid": ALERTMANAGER_UID,
            "access": "proxy",
            "url": monitoring.alertmanager.url(),
            "jsonData": {"implementation": "prometheus", "handleGrafanaManagedAlerts": False},
        },
    ]
    if logging is not None:
        tempo_json["tracesToLogsV2"] = {
            "datasourceUid": LOKI_UID,
            "spanStartTimeShift": "-5m",
            "spanEndTimeShift": "5m",
            "filterByTraceID": True,
            "tags": [{"key": "k8s.namespace.name", "value": "namespace"}, {"key": "k8s.pod.name", "value": "pod"}],
        }
        tempo_json["lokiSearch"] = {"datasourceUid": LOKI_UID}
        trace_link = {"datasourceUid": TEMPO_UID, "url": _literal("${__value.raw}"), "urlDisplayLabel": "View trace"}
        sources.append({
            "name": "Loki",
            "type": "loki",
            "uid": LOKI_UID,
            "access": "proxy",
            "url": logging.loki.url(),
            "jsonData": {
                "derivedFields": [
                    # trace_id=... (logfmt) or "trace_id": "..." (JSON) in the log line
                    {
                        "name": "TraceID",
                        "matcherType": "regex",
                        "matcherRegex": r'(?:trace_id|traceID|traceId)"?\s*[=:]\s*"?([0-9a-fA-F]{16,32})',
                        **trace_link,
                    },
                    # trace_id kept as structured metadata by the log pipeline
                    {"name": "trace_id", "matcherType": "label", "matcherRegex": "trace_id", **trace_link},
                ]
            },
        })
    return sources


def alertmanager_config(am: Alertmanager, environment: str, *, receiver_secret: bool) -> dict[str, Any]:
    """Routing and one receiver for this environment (stack); its URL is read from the mounted
    Secret, never written here. Without the Secret (``alertmanagerWebhookUrl`` unset) alerts go nowhere."""
    receivers: list[dict[str, Any]] = [{"name": "null"}]
    target = "null"
    if am.receiver == "slack" and receiver_secret:
        target = f"slack-{environment}"
        channel = am.slack_channel or f"#alerts-{environment}"
        receivers.append({
            "name": target,
            "slack_configs": [{"channel": channel, "api_url_file": RECEIVER_URL_FILE, "send_resolved": True}],
        })
    elif am.receiver == "webhook" and receiver_secret:
        target = f"webhook-{environment}"
        receivers.append(
            {"name": target, "webhook_configs": [{"url_file": RECEIVER_URL_FILE, "send_resolved": True}]}
        )
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": target,
            "group_by": ["alertname", "namespace"],
            "group_wait": am.group_wait,
            "group_interval": am.group_interval,
            "repeat_interval": am.repeat_interval,
            "routes": [
                # kps' always-firing heartbeat and its inhibitor must not page anyone.
                {"receiver": "null", "matchers": ['alertname = "Watchdog"']},
                {"receiver": "null", "matchers": ['alertname = "InfoInhibitor"']},
            ],
        },
        "inhibit_rules": [
            {
                "source_matchers": ["severity = critical"],
                "target_matchers": ["severity =~ warning|info"],
                "equal": ["namespace", "alertname"],
            }
        ],
        "receivers": receivers,
        "templates": ["/etc/alertmanager/config/*.tmpl"],
    }


def annotated_pods_job() -> dict[str, Any]:
    """Scrape job for pods that opt in with the usual ``prometheus.io/scrape|port|path`` annotations.

    For workloads without a ServiceMonitor; ``scheme`` follows ``prometheus.io/scheme`` (http by
    default). Prometheus's pods run without a sidecar, so an injected pod's STRICT mTLS port is
    out of reach: annotate only ports the sidecar leaves plain (or the sidecar's merged metrics).
    """
    def annotation(name: str) -> str:
        return f"__meta_kubernetes_pod_annotation_prometheus_io_{name}"

    return {
        "job_name": "kubernetes-pods",
        "kubernetes_sd_configs": [{"role": "pod"}],
        "relabel_configs": [
            {"source_labels": [annotation("scrape")], "regex": "true", "action": "keep"},
            {"source_labels": ["__meta_kubernetes_pod_phase"], "regex": "Pending|Succeeded|Failed", "action": "drop"},
            {"source_labels": [annotation("scheme")], "regex": "(https?)", "target_label": "__scheme__"},
            {"source_labels": [annotation("path")], "regex": "(.+)", "target_label": "__metrics_path__"},
            {
                "source_labels": ["__address__", annotation("port")],
                "regex": "(.+?)(?::\\d+)?;(\\d+)", "replacement": "$1:$2", "target_label": "__address__",
            },
            {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
        ],
    }


def chart_values(
    mon: Monitoring, datasources: list[dict[str, Any]], *, retain: bool, receiver_secret: bool, environment: str
) -> dict[str, Any]:
    """kube-prometheus-stack values: every key path exists in the chart's values.yaml (88.5.3)."""
    volume_policy = "Retain" if retain else "Delete"
    return {
        "fullnameOverride": FULLNAME,
        # k3s runs these control-plane parts inside its own process: no endpoints to scrape, only false alarms.
        "kubeControllerManager": {"enabled": False},
        "kubeScheduler": {"enabled": False},
        "kubeProxy": {"enabled": False},
        "kubeEtcd": {"enabled": False},
        "prometheus": {
            "prometheusSpec": {
                "enableRemoteWriteReceiver": True,  # Tempo's metrics-generator writes span metrics here
                "enableFeatures": ["exemplar-storage"],
                "retention": mon.prometheus_retention,
                "scrapeInterval": mon.scrape_interval,
                "additionalScrapeConfigs": [annotated_pods_job()],
                "resources": mon.prometheus_resources.as_k8s(),
                # Empty selectors: monitors and rules from every namespace, whatever their labels.
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "ruleSelectorNilUsesHelmValues": False,
                "probeSelectorNilUsesHelmValues": False,
                "scrapeConfigSelectorNilUsesHelmValues": False,
                "storageSpec": {
                    "volumeClaimTemplate": {
                        "metadata": {"annotations": {"helm.sh/resource-policy": "keep"}},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": mon.prometheus_storage_size}},
                        },
                    }
                },
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": volume_policy, "whenScaled": "Retain"},
                # Prometheus scrapes pod IPs across the mesh and the API server calls its peers'
                # webhooks: both work in STRICT mTLS namespaces only without a sidecar.
                "podMetadata": {"labels": dict(NO_SIDECAR_LABELS)},
            }
        },
        "alertmanager": {
            "config": alertmanager_config(mon.alertmanager, environment, receiver_secret=receiver_secret),
            "alertmanagerSpec": {
                "secrets": [RECEIVER_SECRET] if receiver_secret else [],
                "resources": mon.alertmanager.resources.as_k8s(),
            },
        },
        "prometheusOperator": {
            "resources": mon.operator_resources.as_k8s(),
            "podLabels": dict(NO_SIDECAR_LABELS),
            "prometheusConfigReloader": {"resources": _HELPER.as_k8s()},
            "admissionWebhooks": {
                # The certificate Jobs must finish; an injected sidecar would keep them running forever.
                "patch": {"podAnnotations": dict(NO_SIDECAR_ANNOTATIONS), "resources": _HELPER.as_k8s()},
            },
        },
        "kube-state-metrics": {
            "resources": mon.kube_state_metrics_resources.as_k8s(),
            "podLabels": dict(NO_SIDECAR_LABELS),
        },
        # hostNetwork DaemonSet: a sidecar would capture the node's traffic.
        "prometheus-node-exporter": {
            "resources": mon.node_exporter_resources.as_k8s(),
            "podLabels": dict(NO_SIDECAR_LABELS),
        },
        "grafana": {
            "resources": mon.grafana_resources.as_k8s(),
            "admin": {"existingSecret": GRAFANA_ADMIN_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
            "testFramework": {"enabled": False},  # a Helm test Pod, never run by helm.v4.Chart
            "sidecar": {
                "resources": _HELPER.as_k8s(),
                "dashboards": {
                    "enabled": True, "label": DASHBOARD_LABEL, "labelValue": "1", "searchNamespace": "ALL",
                    # Each dashboard ConfigMap names its Grafana folder in this annotation.
                    "folderAnnotation": DASHBOARD_FOLDER_ANNOTATION,
                    "provider": {"foldersFromFilesStructure": True},
                },
                # Our datasources replace the chart's default ones, so every URL comes from a ServiceRef.
                "datasources": {"enabled": True, "defaultDatasourceEnabled": False, "alertmanager": {"enabled": False}},
            },
            "additionalDataSources": datasources,
            "prune": True,  # a datasource removed here (Loki off) disappears from Grafana too
        },
    }


class MonitoringStackArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    settings: Monitoring
    namespace: NamespaceRef
    chart: versions.ChartPin
    charts: Charts
    """Where charts come from (``charts`` section)."""
    generated_secrets: GeneratedSecrets
    """How the Grafana admin password is generated when ``grafana_admin_password`` is unset."""
    retain: bool
    """Prometheus's volume outlives `pulumi destroy` (``storage.retainOnDestroy``)."""
    grafana_admin_password: pulumi.Output[str] | None = None
    """The ``grafanaAdminPassword`` secret; generated when None."""
    alertmanager_webhook_url: pulumi.Output[str] | None = None
    """The ``alertmanagerWebhookUrl`` secret, for ``alertmanager.receiver`` slack or webhook."""
    environment: str
    """The stack's name: names the Alertmanager receiver and the default Slack channel ``#alerts-<environment>``."""
    alert_scope: AlertScope
    """What the alert rules watch (namespaces, vLLM's Service, the GPU)."""
    gpu_dashboards: bool = False
    """Provision the GPU dashboard (the stack runs DCGM)."""
    tracing: TracingEndpoints
    """Where Grafana finds Tempo."""
    logging: LoggingEndpoints | None = None
    """Where Grafana finds Loki; None when the logging stack is off."""


class MonitoringStack(pulumi.ComponentResource):
    """kube-prometheus-stack with the platform's datasources, dashboards and alert rules.

    Creates the Grafana admin and Alertmanager receiver Secrets, the chart (CRDs included),
    one PrometheusRule and one ConfigMap per dashboard.
    """

    endpoints: MonitoringEndpoints
    """Prometheus, Grafana and Alertmanager Services."""
    crds: CrdReadiness
    """The chart, CRDs included: ServiceMonitors, PodMonitors and PrometheusRules depend on it."""
    grafana_admin_password: pulumi.Output[str]
    """Grafana ``admin`` password (secret): the ``grafanaAdminPassword`` secret or a generated one."""

    def __init__(self, name: str, args: MonitoringStackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TOKEN_PREFIX}:monitoring:MonitoringStack", name, None, opts)
        mon, ns = args.settings, args.namespace.output
        self.endpoints = endpoints(args.namespace.name)

        given = args.grafana_admin_password
        password = given if given is not None else generated_secret(
            f"{name}-grafana-admin", args.generated_secrets, length=24, opts=pulumi.ResourceOptions(parent=self)
        )
        self.grafana_admin_password = pulumi.Output.secret(password)
        secrets: list[pulumi.Resource] = [
            k8s.core.v1.Secret(
                f"{name}-grafana-admin",
                metadata={"name": GRAFANA_ADMIN_SECRET, "namespace": ns, "labels": labels("grafana", "admin")},
                string_data={"admin-user": "admin", "admin-password": self.grafana_admin_password},
                opts=pulumi.ResourceOptions(parent=self),
            )
        ]
        receiver_url = args.alertmanager_webhook_url
        with_receiver = False
        if mon.alertmanager.receiver == "slack" and receiver_url is None:
            # Slack is the default receiver; it stays opt-in only while its webhook secret is missing.
            pulumi.log.warn(
                "Alertmanager sends no alerts: set the Slack webhook with `pulumi config set --secret "
                "alertmanagerWebhookUrl <url>` (or monitoring.alertmanager.receiver=none to silence this)",
                self,
            )
        if mon.alertmanager.receiver != "none" and receiver_url is not None:
            with_receiver = True
            secrets.append(
                k8s.core.v1.Secret(
                    f"{name}-alertmanager-receiver",
                    metadata={"name": RECEIVER_SECRET, "namespace": ns, "labels": labels("alertmanager", "receiver")},
                    string_data={"url": receiver_url},  # a secret config value: stays a secret Output
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )

        datasources = grafana_datasources(self.endpoints, args.tracing, args.logging)
        chart = helm_chart(
            f"{name}-kps",
            args.chart,
            args.charts,
            namespace=ns,
            values=chart_values(
                mon, datasources, retain=args.retain, receiver_secret=with_receiver, environment=args.environment
            ),
            release_name=FULLNAME,
            # The values name these Secrets; Grafana and Alertmanager cannot start without them.
            opts=pulumi.ResourceOptions(parent=self, depends_on=secrets),
        )
        self.crds = CrdReadiness("monitoring.coreos.com", chart)

        k8s.apiextensions.CustomResource(
            f"{name}-alert-rules",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata={
                "name": "llm-tracing-infra-alerts", "namespace": ns, "labels": labels("prometheus", "alert-rules")
            },
            spec={"groups": alert_rules.rule_groups(mon.alerts, args.alert_scope)},
            # The PrometheusRule CRD (and the operator's admission webhook) come with the chart.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[chart]),
        )
        for filename, model in dashboards.all_dashboards(gpu_enabled=args.gpu_dashboards).items():
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{model['uid']}",
                metadata={
                    "name": f"dashboard-{model['uid']}",
                    "namespace": ns,
                    "labels": {**labels("grafana", "dashboard"), DASHBOARD_LABEL: "1"},
                    "annotations": {DASHBOARD_FOLDER_ANNOTATION: dashboards.folder_of(model["uid"])},
                },
                data={filename: json.dumps(model, sort_keys=True)},
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.register_outputs({"grafanaAdminPassword": self.grafana_admin_password})
