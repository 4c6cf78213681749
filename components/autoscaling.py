"""Autoscaling: KEDA, and a ScaledObject per GPU engine on the engine's own queue signals.

Engines scale on what says a replica is saturated before latency shows it: requests waiting in
the scheduler and KV-cache usage (``scaling_signals``), read from Prometheus by KEDA's Prometheus
trigger. KEDA turns each ScaledObject into an HPA (autoscaling/v2) that owns the replica count, so
the engine's Deployment leaves ``replicas`` unset. While Prometheus cannot be read, the fallback
holds a fixed count instead of scaling blind. LiteLLM and the collector scale on CPU and memory
with a plain HPA (``resource_hpa`` here; the collector's through its chart's values).

KEDA goes into a namespace of its own (created here, never injected: its metrics API server is
called by the API server, which has no sidecar), unless ``autoscaling.installKeda=false`` says the
cluster has one.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict

import versions
from components import pod_security, scaling_signals
from components._k8s import TOKEN_PREFIX, labels
from components.charts import helm_chart
from components.contracts import EngineEndpoint, NamespaceRef, ServiceRef
from config.capacity import Autoscaling as AutoscalingSettings
from config.capacity import EngineScaling, ResourceScaling
from config.sections import Charts

KEDA_API = "keda.sh/v1alpha1"


class AutoscalingArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    settings: AutoscalingSettings
    keda_chart: versions.ChartPin
    charts: Charts
    prometheus: ServiceRef
    """Where KEDA's Prometheus triggers read the engines' metrics."""
    engines: list[EngineEndpoint]
    """GPU engines to scale (the Deployment is named after the engine, the Prometheus job after its Service)."""


def resource_hpa(
    name: str,
    *,
    metadata: dict[str, Any],
    target_kind: str,
    target_name: str,
    scaling: ResourceScaling,
    parent: pulumi.Resource,
) -> k8s.autoscaling.v2.HorizontalPodAutoscaler:
    """An autoscaling/v2 HPA on the CPU and memory utilisation of the pods' requests."""
    return k8s.autoscaling.v2.HorizontalPodAutoscaler(  # type: ignore[call-overload]  # pulumi-kubernetes overloads vs manifest-style dicts
        name,
        metadata=metadata,
        spec={
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": target_kind, "name": target_name},
            "minReplicas": scaling.min_replicas,
            "maxReplicas": scaling.max_replicas,
            "metrics": [
                _utilization("cpu", scaling.cpu_utilization),
                _utilization("memory", scaling.memory_utilization),
            ],
        },
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _utilization(resource: str, percent: int) -> dict[str, Any]:
    target = {"type": "Utilization", "averageUtilization": percent}
    return {"type": "Resource", "resource": {"name": resource, "target": target}}


def collector_chart_values(scaling: ResourceScaling) -> dict[str, Any]:
    """The opentelemetry-collector chart's own HPA (autoscaling/v2; it then leaves replicas unset)."""
    return {
        "enabled": True,
        "minReplicas": scaling.min_replicas,
        "maxReplicas": scaling.max_replicas,
        "targetCPUUtilizationPercentage": scaling.cpu_utilization,
        "targetMemoryUtilizationPercentage": scaling.memory_utilization,
    }


def scaled_object_spec(engine: EngineEndpoint, scaling: EngineScaling, prometheus: ServiceRef) -> dict[str, Any]:
    """KEDA ScaledObject spec for one engine: queue depth and KV-cache usage, per replica."""
    namespace, job = engine.service.namespace, engine.service.name
    server = prometheus.url()
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": engine.engine},
        "minReplicaCount": scaling.min_replicas,
        "maxReplicaCount": scaling.max_replicas,
        "pollingInterval": scaling.polling_interval_seconds,
        # cooldownPeriod only governs scaling to zero; above one replica the HPA's scale-down window does.
        "cooldownPeriod": scaling.cooldown_seconds,
        "fallback": {"failureThreshold": scaling.fallback_failure_threshold, "replicas": scaling.fallback_replicas},
        "advanced": {
            "horizontalPodAutoscalerConfig": {
                "name": f"{engine.engine}-keda",
                "behavior": {
                    # A new replica loads a model for minutes: scale out one at a time, scale in slowly.
                    "scaleUp": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]},
                    "scaleDown": {
                        "stabilizationWindowSeconds": scaling.cooldown_seconds,
                        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 120}],
                    },
                },
            }
        },
        "triggers": [
            {
                "type": "prometheus",
                "name": "waiting-requests",
                "metricType": "AverageValue",
                "metadata": {
                    "serverAddress": server,
                    "query": scaling_signals.waiting_query(engine.engine, namespace, job),
                    "threshold": f"{scaling.waiting_requests_per_replica:g}",
                },
            },
            {
                "type": "prometheus",
                "name": "kv-cache-usage",
                "metricType": "AverageValue",
                "metadata": {
                    "serverAddress": server,
                    "query": scaling_signals.kv_cache_query(engine.engine, namespace, job),
                    "threshold": f"{scaling.kv_cache_usage_per_replica:g}",
                },
            },
        ],
    }


class Autoscaling(pulumi.ComponentResource):
    keda: pulumi.Resource | None
    """The KEDA chart (CRDs, operator, metrics API server); None when the cluster has KEDA."""
    namespace: NamespaceRef | None
    """KEDA's namespace when this program installs it (its pods query Prometheus for the triggers)."""

    def __init__(self, name: str, args: AutoscalingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TOKEN_PREFIX}:autoscaling:Autoscaling", name, None, opts)
        settings = args.settings
        self.keda = None
        self.namespace = None
        if settings.install_keda:
            namespace = k8s.core.v1.Namespace(
                f"{name}-keda-namespace",
                metadata={
                    "name": settings.keda_namespace,
                    "labels": {**labels("keda", "autoscaling"), **pod_security.namespace_labels("keda")},
                },
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.namespace = NamespaceRef(settings.keda_namespace, namespace.metadata.apply(lambda m: m["name"]))
            self.keda = helm_chart(
                f"{name}-keda",
                args.keda_chart,
                args.charts,
                namespace=namespace.metadata["name"],
                values={},
                release_name="keda",
                opts=pulumi.ResourceOptions(parent=self),
            )
        waits = [self.keda] if self.keda else []
        for engine in args.engines:
            k8s.apiextensions.CustomResource(
                f"{name}-{engine.engine}-scaled-object",
                api_version=KEDA_API,
                kind="ScaledObject",
                metadata={
                    "name": engine.engine,
                    "namespace": engine.service.namespace,
                    "labels": labels(engine.engine, "autoscaling"),
                },
                spec=scaled_object_spec(engine, settings.engines, args.prometheus),
                # The ScaledObject kind exists once KEDA's CRDs are in (KEDA waits for the Deployment itself).
                opts=pulumi.ResourceOptions(parent=self, depends_on=waits),
            )
        self.register_outputs({})
