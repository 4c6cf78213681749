"""TracingPipeline: one OpenTelemetry Collector in front of Grafana Tempo.

Every span in the platform enters through the collector's OTLP Service (gRPC 4317, HTTP 4318);
nothing talks to Tempo directly, so memory protection, Kubernetes metadata, batching and the
retrying, disk-backed queue apply to all of it. Tempo (single binary) stores the spans on a
volume and its metrics-generator turns them into service-graph and span metrics, remote-written
to Prometheus with exemplars, which is what links a latency panel to the trace behind it.

Two chart behaviours this module works around, and why:

* The collector chart merges ``config`` over a default config (jaeger, zipkin, prometheus
  receivers, a debug exporter, logs and metrics pipelines) that only ``null`` can delete, and
  Pulumi's Python SDK drops ``None`` from values. So the config goes in ``alternateConfig``,
  which the chart uses as is: ``collector_config`` is exactly what the collector runs.
* The chart's ``kubernetesAttributes`` preset would prepend its processor before
  ``memory_limiter`` and inject config of its own; the RBAC it would add is given as
  ``clusterRole.rules`` instead, and the processor is configured here.

The collector runs as a StatefulSet, not a Deployment: the sending queue lives on a volume,
and a StatefulSet gives each replica its own claim and gives a restarted pod the same claim
back, which is what makes the queue survive a restart (a Deployment's replicas would share one
ReadWriteOnce claim and lock each other out of the queue file).

Neither the collector nor Tempo carries an Istio sidecar: ``k8s_attributes`` tells which pod sent
a span by the connection's source address, which a sidecar would replace with its own.

OTLP auth (``tracing.otlpAuth``): both OTLP receivers ask for a bearer token (the contrib
``bearertokenauth`` extension), read from a Secret into the collector's environment, never from
the values. Senders that the platform wires and that can send a header do (the engines' and
LiteLLM's OTel exporters, from a Secret of their own namespace). Istio's proxies cannot: the
mesh config takes only literal header values (istiod's ConfigMap, readable in clear), so their
spans go to a second gRPC receiver without auth (``MESH_PORT``), which NetworkPolicies open to
the meshed namespaces only (``network_edges``: ``mesh-spans-*``).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml
from pydantic import BaseModel, ConfigDict

import versions
from components import _k8s
from components._k8s import NO_SIDECAR_LABELS, TOKEN_PREFIX, labels, restricted_security_context
from components._secrets import generated_secret
from components.autoscaling import collector_chart_values
from components.charts import helm_chart
from components.contracts import (
    CrdReadiness,
    LangfuseConnection,
    NamespaceRef,
    OtlpAuth,
    ServiceRef,
    TracingEndpoints,
    otel_sdk_environment,
    with_otlp_auth,
)
from config.capacity import Placement, ResourceScaling
from config.sections import Charts, Collector, GeneratedSecrets, Tempo, Tracing

COLLECTOR_FULLNAME = "otel-collector"
"""Collector chart ``fullnameOverride``: its Service is ``otel-collector``."""
COLLECTOR_CHART_NAME = "opentelemetry-collector"
"""``app.kubernetes.io/name`` of the collector's objects (the chart name; no nameOverride)."""
TEMPO_FULLNAME = "tempo"
"""Tempo chart ``fullnameOverride``: its Service is ``tempo``."""

QUEUE_DIR = "/var/lib/otelcol/queue"
"""Where the collector's persistent sending queue (file_storage) lives: a claim per replica."""
QUEUE_VOLUME = "queue"
LANGFUSE_SECRET = "otel-collector-langfuse"
"""Secret (tracing namespace) holding the Langfuse OTLP ``Authorization`` header."""
LANGFUSE_AUTH_ENV = "LANGFUSE_OTLP_AUTHORIZATION"
AUTH_SECRET = "otel-collector-otlp-auth"
"""Secret (tracing namespace) holding the OTLP bearer token the receivers ask for."""
AUTH_TOKEN_ENV = "OTLP_BEARER_TOKEN"
AUTHENTICATOR = "bearertokenauth/otlp"
MESH_PORT = 4319
"""The receiver without a token, for Istio's proxies (OTLP/gRPC); only with OTLP auth on."""
MESH_RECEIVER = "otlp/mesh"
METRICS_PORT = 8888
PROMETHEUS_SUFFIXES = {"without_type_suffix": False, "without_units": False}
"""The self-metrics endpoint's naming: Prometheus' suffixes. Collector 0.158 defaults both flags to true on
any reader (no ``_total`` on counters, no ``_seconds``/``_bytes``), so the alerts' conventional names
(``otelcol_receiver_refused_spans_total``) would match nothing; metrics/contract/otel-collector.yaml
lists the names a reader with these flags exposes."""
HEALTH_PORT = 13133
TEMPO_DATA = "/var/tempo"

LLM_SPAN_ATTRIBUTES = ("gen_ai.operation.name", "gen_ai.system", "gen_ai.request.model")
"""A span carrying any of these (OpenTelemetry GenAI semantic conventions) is an LLM span."""


def endpoints(namespace: str, *, otlp_auth: bool = False) -> TracingEndpoints:
    """Services as the charts render them (without the token, which only the component knows).

    Collector 0.170.0 ``templates/service.yaml``: ``<fullname>``, one port per enabled ``ports.*``
    with its ``appProtocol`` (``otlp``: grpc). Tempo 2.2.4 ``templates/service.yaml`` and
    ``_ports.tpl``: ``<fullname>``, 3200 and the receiver ports, without ``appProtocol``.
    """
    ns = namespace
    return TracingEndpoints(
        otlp_grpc=ServiceRef(COLLECTOR_FULLNAME, ns, 4317, "grpc"),
        otlp_http=ServiceRef(COLLECTOR_FULLNAME, ns, 4318),
        tempo_http=ServiceRef(TEMPO_FULLNAME, ns, 3200),
        tempo_otlp_grpc=ServiceRef(TEMPO_FULLNAME, ns, 4317),
        mesh=ServiceRef(COLLECTOR_FULLNAME, ns, MESH_PORT, "grpc") if otlp_auth else None,
    )


# ---------------------------------------------------------------------------------------------
# The collector's configuration
# ---------------------------------------------------------------------------------------------


def _exporter_reliability(cfg: Collector) -> dict[str, Any]:
    """Retry and a disk-backed queue: a span leaves the queue only once the backend has it.

    ``max_elapsed_time: 0`` retries without a deadline, so an outage of any length only fills
    the queue (bounded by ``queueSize``; the queue-fill alert fires first) and never drops a batch.
    """
    return {
        "retry_on_failure": {
            "enabled": True, "initial_interval": "1s", "max_interval": "30s", "max_elapsed_time": "0s",
        },
        "sending_queue": {
            "enabled": True,
            "storage": "file_storage/queue",
            "sizer": "requests",
            "queue_size": cfg.queue_size,
            "num_consumers": 4,
            # Batching after the queue: a span is on disk before the client gets its acknowledgement.
            "batch": {"flush_timeout": "1s", "min_size": 512, "max_size": 1024, "sizer": "items"},
        },
    }


def _langfuse_filter(self_reporting_services: tuple[str, ...]) -> dict[str, Any]:
    """Drop what Langfuse should not get: spans without GenAI attributes, and self-reporting services."""
    no_genai = " and ".join(f'attributes["{key}"] == nil' for key in LLM_SPAN_ATTRIBUTES)
    self_reporting = [f'resource.attributes["service.name"] == "{service}"' for service in self_reporting_services]
    return {"error_mode": "ignore", "traces": {"span": [no_genai, *self_reporting]}}


def collector_config(
    collector: Collector,
    tempo: ServiceRef,
    langfuse: LangfuseConnection | None = None,
    self_reporting: tuple[str, ...] = (),
    *,
    otlp_auth: bool = False,
) -> dict[str, Any]:
    """The collector's whole configuration (otelcol-contrib 0.158.0 component names).

    Pipeline ``traces``: memory_limiter (first, so pressure is refused before anything is
    buffered), k8s_attributes, then OTLP/gRPC to Tempo. With Langfuse, ``traces/langfuse`` fans
    the same receiver out to Langfuse's OTLP/HTTP endpoint, LLM spans only. With ``otlp_auth``
    both OTLP protocols ask for the bearer token, and ``otlp/mesh`` takes the proxies' spans without.

    No batch processor: it acknowledges spans to the client while holding them in memory, in
    front of the persistent queue, so a crash loses them (the pipeline fault tests proved it on
    the real collector). Batches are formed in the exporters' queues instead (``sending_queue.batch``).
    """
    limit = collector.memory_limit_mib
    config_: dict[str, Any] = {
        "extensions": {
            "health_check": {"endpoint": f"${{env:MY_POD_IP}}:{HEALTH_PORT}"},
            "file_storage/queue": {
                "directory": QUEUE_DIR,
                "create_directory": True,
                "timeout": "10s",
                "compaction": {"on_start": True, "on_rebound": True, "directory": QUEUE_DIR},
            },
        },
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": "${env:MY_POD_IP}:4317"},
                    "http": {"endpoint": "${env:MY_POD_IP}:4318"},
                }
            }
        },
        "processors": {
            "memory_limiter": {"check_interval": "1s", "limit_mib": limit, "spike_limit_mib": max(limit // 5, 16)},
            "k8s_attributes": {
                "auth_type": "serviceAccount",
                "passthrough": False,
                "extract": {
                    "metadata": [
                        "k8s.namespace.name", "k8s.pod.name", "k8s.pod.uid", "k8s.node.name",
                        "k8s.deployment.name", "k8s.statefulset.name", "k8s.daemonset.name",
                    ],
                    "labels": [{"tag_name": "app", "key": "app.kubernetes.io/name", "from": "pod"}],
                },
                # Istio sidecars and SDKs connect from the pod itself: its IP names the pod.
                "pod_association": [
                    {"sources": [{"from": "resource_attribute", "name": "k8s.pod.ip"}]},
                    {"sources": [{"from": "resource_attribute", "name": "k8s.pod.uid"}]},
                    {"sources": [{"from": "connection"}]},
                ],
            },
        },
        "exporters": {
            "otlp_grpc/tempo": {
                "endpoint": tempo.authority,
                # Plain gRPC: neither end has a sidecar (see collector_values).
                "tls": {"insecure": True},
                **_exporter_reliability(collector),
            }
        },
        "service": {
            "extensions": ["health_check", "file_storage/queue"],
            "telemetry": {
                "logs": {"level": "info"},
                "metrics": {
                    "level": "normal",
                    "readers": [
                        {"pull": {"exporter": {"prometheus": {
                            "host": "${env:MY_POD_IP}", "port": METRICS_PORT, **PROMETHEUS_SUFFIXES,
                        }}}}
                    ],
                },
            },
            "pipelines": {
                "traces": {
                    "receivers": ["otlp"],
                    "processors": ["memory_limiter", "k8s_attributes"],
                    "exporters": ["otlp_grpc/tempo"],
                }
            },
        },
    }
    if otlp_auth:
        _require_token(config_)
    receivers = list(config_["receivers"])
    config_["service"]["pipelines"]["traces"]["receivers"] = receivers
    if langfuse is not None:
        config_["processors"]["filter/langfuse"] = _langfuse_filter(self_reporting)
        config_["exporters"]["otlp_http/langfuse"] = {
            "endpoint": langfuse.otlp_traces_url,
            "headers": {"Authorization": f"${{env:{LANGFUSE_AUTH_ENV}}}"},
            "compression": "none",
            **_exporter_reliability(collector),
        }
        config_["service"]["pipelines"]["traces/langfuse"] = {
            "receivers": receivers,
            "processors": ["memory_limiter", "filter/langfuse", "k8s_attributes"],
            "exporters": ["otlp_http/langfuse"],
        }
    return config_


def _require_token(config_: dict[str, Any]) -> None:
    """Bearer-token auth on both OTLP protocols; ``otlp/mesh`` (gRPC, no token) for Istio's proxies."""
    config_["extensions"][AUTHENTICATOR] = {"token": f"${{env:{AUTH_TOKEN_ENV}}}"}
    config_["service"]["extensions"].append(AUTHENTICATOR)
    for protocol in config_["receivers"]["otlp"]["protocols"].values():
        protocol["auth"] = {"authenticator": AUTHENTICATOR}
    config_["receivers"][MESH_RECEIVER] = {"protocols": {"grpc": {"endpoint": f"${{env:MY_POD_IP}}:{MESH_PORT}"}}}


# ---------------------------------------------------------------------------------------------
# Chart values
# ---------------------------------------------------------------------------------------------


def _image(ref: str) -> tuple[str, str]:
    repository, _, tag = ref.rpartition(":")
    return repository, tag


def _claim(name: str, size: str, retain: bool) -> dict[str, Any]:
    annotations = {"helm.sh/resource-policy": "keep"} if retain else {}
    return {
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}},
    }


def collector_values(
    collector: Collector,
    config_: dict[str, Any],
    *,
    image: str,
    retain: bool,
    langfuse: bool,
    placement: Placement | None = None,
    autoscaling: ResourceScaling | None = None,
    otlp_auth: bool = False,
) -> dict[str, Any]:
    repository, tag = _image(image)
    env = []
    if langfuse:
        secret_ref = {"secretKeyRef": {"name": LANGFUSE_SECRET, "key": "authorization"}}
        env.append({"name": LANGFUSE_AUTH_ENV, "valueFrom": secret_ref})
    if otlp_auth:
        env.append({"name": AUTH_TOKEN_ENV, "valueFrom": {"secretKeyRef": {"name": AUTH_SECRET, "key": "token"}}})
    mesh_port = {"enabled": True, "containerPort": MESH_PORT, "servicePort": MESH_PORT, "protocol": "TCP",
                 "appProtocol": "grpc"}
    disabled = {"enabled": False}
    return {
        "fullnameOverride": COLLECTOR_FULLNAME,
        "mode": "statefulset",
        "replicaCount": collector.replicas,
        "image": {"repository": repository, "tag": tag},
        "alternateConfig": config_,
        "clusterRole": {
            "create": True,
            # What k8s_attributes reads (the chart's kubernetesAttributes preset grants the same).
            "rules": [
                {"apiGroups": [""], "resources": ["pods", "namespaces", "nodes"], "verbs": ["get", "watch", "list"]},
                {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["get", "watch", "list"]},
            ],
        },
        "ports": {
            "otlp": {"enabled": True, "containerPort": 4317, "servicePort": 4317, "appProtocol": "grpc"},
            "otlp-http": {"enabled": True, "containerPort": 4318, "servicePort": 4318},
            **({"otlp-mesh": mesh_port} if otlp_auth else {}),
            "jaeger-compact": disabled,
            "jaeger-thrift": disabled,
            "jaeger-grpc": disabled,
            "zipkin": disabled,
            "metrics": {"enabled": True, "containerPort": METRICS_PORT, "servicePort": METRICS_PORT},
        },
        "extraEnvs": env,
        "extraVolumeMounts": [{"name": QUEUE_VOLUME, "mountPath": QUEUE_DIR}],
        "statefulset": {
            "volumeClaimTemplates": [_claim(QUEUE_VOLUME, collector.queue_storage_size, retain)],
            "persistentVolumeClaimRetentionPolicy": {
                "enabled": True,
                "whenDeleted": "Retain" if retain else "Delete",
                "whenScaled": "Retain",
            },
        },
        "resources": collector.resources.as_k8s(),
        "podSecurityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001},
        "securityContext": restricted_security_context(run_as_user=10001),
        # No sidecar: k8s_attributes names the sending pod by the connection's source IP, which a
        # sidecar would replace with its own (127.0.0.6). Meshed clients then speak plain gRPC to it.
        "podLabels": {"app": COLLECTOR_FULLNAME, **NO_SIDECAR_LABELS},
        # The chart's liveness/readiness probes already ask health_check on HEALTH_PORT.
        # The queue is flushed to disk on shutdown; give it time before SIGKILL.
        "terminationGracePeriodSeconds": 60,
        **_replicated(collector, placement or Placement(), autoscaling),
    }


def _replicated(collector: Collector, placement: Placement, scaling: ResourceScaling | None) -> dict[str, Any]:
    """Spread, PDB and HPA of the collector's replicas (the chart renders all three; replicas unset under its HPA).

    Scaling in keeps a removed replica's queue claim (``whenScaled: Retain``): what it held is sent
    when that replica comes back.
    """
    values: dict[str, Any] = {}
    spread = _k8s.topology_spread(placement, {"app": COLLECTOR_FULLNAME}, deployment=False)
    if spread:
        values["topologySpreadConstraints"] = spread
    if scaling or collector.replicas > 1:
        values["podDisruptionBudget"] = {"enabled": True, "maxUnavailable": 1}
    if scaling:
        values["autoscaling"] = collector_chart_values(scaling)
    return values


def _go_duration(duration: str) -> str:
    """``7d`` -> ``168h``: Tempo parses Go durations, which have no days or weeks."""
    factors = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    seconds = sum(float(n) * factors[u] for n, u in re.findall(r"([0-9]+)(ms|s|m|h|d|w|y)", duration))
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60)}m{int(seconds % 60)}s".replace("h0m0s", "h")


def tempo_config(tempo: Tempo, prometheus: ServiceRef, cluster: str) -> dict[str, Any]:
    """Tempo's ``tempo.yaml``: OTLP receivers only, local storage on the volume, metrics-generator on."""
    return {
        "multitenancy_enabled": False,
        # Grafana's Tempo datasource streams search results over the HTTP port when Tempo allows it.
        "stream_over_http_enabled": True,
        "usage_report": {"reporting_enabled": False},
        "server": {"http_listen_port": 3200, "log_level": "info"},
        "distributor": {
            "receivers": {
                "otlp": {"protocols": {"grpc": {"endpoint": "0.0.0.0:4317"}, "http": {"endpoint": "0.0.0.0:4318"}}}
            }
        },
        "compactor": {"compaction": {"block_retention": _go_duration(tempo.retention)}},
        "storage": {
            "trace": {
                "backend": "local",
                "local": {"path": f"{TEMPO_DATA}/traces"},
                "wal": {"path": f"{TEMPO_DATA}/wal"},
            }
        },
        "metrics_generator": {
            # `cluster` tells span metrics of several clusters apart in one Prometheus/Grafana.
            "registry": {"external_labels": {"source": "tempo", "cluster": cluster}},
            "storage": {
                "path": f"{TEMPO_DATA}/generator/wal",
                # Exemplars carry the trace ID to Prometheus: a latency panel links to its traces.
                "remote_write": [{"url": prometheus.url(path="/api/v1/write"), "send_exemplars": True}],
            },
            "traces_storage": {"path": f"{TEMPO_DATA}/generator/traces"},
        },
        "overrides": {
            "defaults": {"metrics_generator": {"processors": ["service-graphs", "span-metrics"]}},
            "per_tenant_override_config": "/conf/overrides.yaml",
        },
    }


def tempo_values(tempo: Tempo, prometheus: ServiceRef, *, retain: bool, cluster: str) -> dict[str, Any]:
    rendered = yaml.safe_dump(tempo_config(tempo, prometheus, cluster), sort_keys=False)
    if "{{" in rendered:  # the chart passes `config` through `tpl`
        raise ValueError("Tempo config must not contain '{{'")
    return {
        "fullnameOverride": TEMPO_FULLNAME,
        "tempo": {
            "reportingEnabled": False,
            # Only mounts /tmp as an emptyDir here: ``config`` (tempo_config) configures the generator.
            "metricsGenerator": {"enabled": True},
            # The Service template renders receiver ports from these: only OTLP, no Jaeger.
            "receivers": {
                "jaeger": {"protocols": {p: {"endpoint": ""} for p in ("grpc", "thrift_binary", "thrift_compact",
                                                                          "thrift_http")}},
                "otlp": {"protocols": {"grpc": {"endpoint": "0.0.0.0:4317"}, "http": {"endpoint": "0.0.0.0:4318"}}},
            },
            "resources": tempo.resources.as_k8s(),
            "securityContext": restricted_security_context(run_as_user=10001),
        },
        "config": rendered,
        "persistence": {
            "enabled": True,
            "size": tempo.storage_size,
            "accessModes": ["ReadWriteOnce"],
            # The chart's claim template is kept by Kubernetes unless this turns on deletion.
            "enableStatefulSetAutoDeletePVC": not retain,
        },
        # Out of the mesh like the collector, its only writer: a STRICT tracing namespace cannot refuse it.
        "podLabels": {"app": TEMPO_FULLNAME, **NO_SIDECAR_LABELS},
    }


def _service_monitor(
    parent: pulumi.Resource, name: str, k8s_name: str, namespace: pulumi.Input[str], selector: dict[str, str],
    port: str, monitoring_crds: CrdReadiness,
) -> k8s.apiextensions.CustomResource:
    return _k8s.service_monitor(
        name,
        metadata={"name": k8s_name, "namespace": namespace, "labels": labels(k8s_name, "metrics")},
        selector=selector,
        endpoint={"port": port, "path": "/metrics", "interval": "30s"},
        crds=monitoring_crds,
        parent=parent,
    )


# ---------------------------------------------------------------------------------------------
# The component
# ---------------------------------------------------------------------------------------------


class TracingPipelineArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    settings: Tracing
    namespace: NamespaceRef
    tempo_chart: versions.ChartPin
    collector_chart: versions.ChartPin
    charts: Charts
    """Where charts come from (``charts`` section)."""
    collector_image: str
    retain: bool
    """Span volumes and the collector's queue outlive `pulumi destroy` (``storage.retainOnDestroy``)."""
    prometheus: ServiceRef
    """Prometheus's remote-write receiver (``/api/v1/write``): Tempo's metrics-generator target."""
    monitoring_crds: CrdReadiness
    """The prometheus-operator CRDs: the ServiceMonitors wait for them."""
    cluster: str
    """The ``cluster`` label on Tempo's generated metrics (the stack's name)."""
    langfuse: LangfuseConnection | None = None
    """When set, LLM spans are also exported to Langfuse with its project keys."""
    langfuse_self_reporting: tuple[str, ...] = ()
    """Services that log to Langfuse themselves (LiteLLM's ``langfuse`` callback): not forwarded twice."""
    placement: Placement = Placement()
    """Spreading of the collector's replicas over nodes (``placement``)."""
    autoscaling: ResourceScaling | None = None
    """An HPA on CPU/memory owns the collector's replica count (``autoscaling.enabled``)."""
    generated_secrets: GeneratedSecrets = GeneratedSecrets()
    """How the OTLP token is generated when ``otlp_token`` is unset."""
    otlp_token: pulumi.Output[str] | None = None
    """The ``otlpBearerToken`` secret (with ``settings.otlpAuth.enabled``); generated when None."""


class TracingPipeline(pulumi.ComponentResource):
    """Tempo and the OpenTelemetry Collector, wired: collector -> Tempo -> Prometheus."""

    endpoints: TracingEndpoints
    """Where to send spans (collector, with the token senders present) and where to read them (Tempo)."""
    collector_config: dict[str, Any]
    """The exact collector configuration handed to the chart (``alternateConfig``)."""
    metrics: ServiceRef
    """The collector's own metrics port (Prometheus scrapes it)."""

    def __init__(self, name: str, args: TracingPipelineArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TOKEN_PREFIX}:tracing_pipeline:TracingPipeline", name, None, opts)
        settings, ns = args.settings, args.namespace.output
        auth = settings.otlp_auth.enabled
        self.endpoints = endpoints(args.namespace.name, otlp_auth=auth)
        self.metrics = ServiceRef(self.endpoints.otlp_grpc.name, args.namespace.name, METRICS_PORT)
        child = pulumi.ResourceOptions(parent=self)

        tempo = helm_chart(
            f"{name}-tempo", args.tempo_chart, args.charts, namespace=ns,
            values=tempo_values(settings.tempo, args.prometheus, retain=args.retain, cluster=args.cluster),
            opts=pulumi.ResourceOptions(parent=self),
        )

        collector_deps: list[pulumi.Resource] = []
        if auth:
            token = args.otlp_token or generated_secret(f"{name}-otlp-token", args.generated_secrets, length=48,
                                                        opts=child)
            self.endpoints = dataclasses.replace(self.endpoints, auth=OtlpAuth(token))
            collector_deps.append(
                k8s.core.v1.Secret(
                    f"{name}-otlp-auth",
                    metadata={"name": AUTH_SECRET, "namespace": ns, "labels": labels(COLLECTOR_FULLNAME, "auth")},
                    string_data={"token": token},
                    opts=child,
                )
            )
        if args.langfuse is not None:
            collector_deps.append(
                k8s.core.v1.Secret(
                    f"{name}-langfuse-auth",
                    metadata={"name": LANGFUSE_SECRET, "namespace": ns, "labels": labels(COLLECTOR_FULLNAME, "auth")},
                    string_data={"authorization": args.langfuse.otlp_auth_header()},
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        self.collector_config = collector_config(
            settings.collector, self.endpoints.tempo_otlp_grpc, args.langfuse, args.langfuse_self_reporting,
            otlp_auth=auth,
        )
        helm_chart(
            f"{name}-collector", args.collector_chart, args.charts, namespace=ns,
            values=collector_values(
                settings.collector, self.collector_config, image=args.collector_image, retain=args.retain,
                langfuse=args.langfuse is not None, placement=args.placement, autoscaling=args.autoscaling,
                otlp_auth=auth,
            ),
            # Tempo first: the exporter's target exists when the collector starts (the queue covers the rest).
            opts=pulumi.ResourceOptions(parent=self, depends_on=[tempo, *collector_deps]),
        )

        _service_monitor(
            self, f"{name}-collector-metrics", COLLECTOR_FULLNAME, ns,
            {"app.kubernetes.io/name": COLLECTOR_CHART_NAME, "component": "statefulset-collector"},
            "metrics", args.monitoring_crds,
        )
        _service_monitor(
            self, f"{name}-tempo-metrics", TEMPO_FULLNAME, ns, {"app.kubernetes.io/name": "tempo"},
            "tempo-prom-metrics", args.monitoring_crds,
        )
        self.register_outputs({"otlpGrpc": self.endpoints.otlp_grpc.url(), "tempo": self.endpoints.tempo_http.url()})

    def app_environment(self, service_name: str) -> pulumi.Output[dict[str, str]]:
        """OpenTelemetry SDK environment for an application that sends its spans to the collector
        (with ``OTEL_EXPORTER_OTLP_HEADERS``, and secret, when OTLP auth is on)."""
        return with_otlp_auth(app_environment(self.endpoints, service_name), self.endpoints.auth)


def app_environment(endpoints_: TracingEndpoints, service_name: str) -> dict[str, str]:
    """SDK settings for an app in the cluster (OTLP/gRPC to the collector's Service), without the token;
    pure, so peers can use it before the component exists."""
    return otel_sdk_environment(endpoints_.otlp_grpc.url(), service_name)
