"""Small Kubernetes helpers shared by the components: labels, security, ServiceMonitors."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.contracts import CrdReadiness, OtlpAuth
from config.capacity import Placement

TOKEN_PREFIX = "llm-tracing-infra"
"""Type tokens are ``llm-tracing-infra:<module>:<Type>``; treat them as a stable API."""


def labels(app: str, component: str | None = None, *, part_of: str = "llm-tracing-infra") -> dict[str, str]:
    """Recommended ``app.kubernetes.io/*`` labels, applied through this one helper."""
    result = {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": part_of, "app": app}
    if component:
        result["app.kubernetes.io/component"] = component
    return result


def restricted_security_context(*, read_only_root: bool = True, run_as_user: int | None = 65532) -> dict[str, Any]:
    """Container security context of the 'restricted' Pod Security profile (secure by default)."""
    context: dict[str, Any] = {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": read_only_root,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if run_as_user is not None:
        context["runAsUser"] = run_as_user
    return context


NO_SIDECAR_ANNOTATIONS = {"sidecar.istio.io/inject": "false"}
"""Annotation form of the opt-out, for charts that only template pod annotations."""

NO_SIDECAR_LABELS = {"sidecar.istio.io/inject": "false"}
"""Pod opt-out of Istio injection (hostNetwork pods, Jobs: a sidecar keeps a Job running)."""


def service_monitor(
    name: str,
    *,
    metadata: dict[str, Any],
    selector: dict[str, str],
    endpoint: dict[str, Any],
    crds: CrdReadiness,
    parent: pulumi.Resource,
) -> k8s.apiextensions.CustomResource:
    """The one ServiceMonitor builder: scrape ``endpoint`` of the Services matching ``selector``."""
    return k8s.apiextensions.CustomResource(
        name,
        api_version="monitoring.coreos.com/v1",
        kind="ServiceMonitor",
        metadata=metadata,
        spec={"selector": {"matchLabels": selector}, "endpoints": [endpoint]},
        # The ServiceMonitor kind exists once kube-prometheus-stack has installed its CRDs.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[crds.resource]),
    )


def otlp_headers_env(
    name: str,
    *,
    auth: OtlpAuth | None,
    namespace: pulumi.Input[str],
    app: str,
    parent: pulumi.Resource,
    variable: str = "OTEL_EXPORTER_OTLP_HEADERS",
    headers: pulumi.Output[str] | None = None,
) -> list[dict[str, Any]]:
    """The OTLP token of one sender: a Secret ``<app>-otlp-auth`` in its namespace, and the env entry
    that reads it into ``variable`` (``headers``, the SDK form by default). Nothing without OTLP auth."""
    if auth is None:
        return []
    secret = k8s.core.v1.Secret(
        f"{name}-otlp-auth",
        metadata={"name": f"{app}-otlp-auth", "namespace": namespace, "labels": labels(app, "auth")},
        type="Opaque",
        string_data={"headers": headers if headers is not None else auth.sdk_headers()},
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return [{"name": variable, "valueFrom": {"secretKeyRef": {"name": secret.metadata["name"], "key": "headers"}}}]


def topology_spread(placement: Placement, selector: dict[str, str], *, deployment: bool = True) -> list[dict[str, Any]]:
    """One spread constraint over ``placement.topologyKey`` for the pods matching ``selector``; none when off."""
    if not placement.spread:
        return []
    constraint: dict[str, Any] = {
        "maxSkew": placement.max_skew,
        "topologyKey": placement.topology_key,
        "whenUnsatisfiable": placement.when_unsatisfiable,
        "labelSelector": {"matchLabels": dict(selector)},
    }
    if deployment:
        # Only the pods of the current rollout count, so the old ReplicaSet's pods do not skew a rolling update.
        constraint["matchLabelKeys"] = ["pod-template-hash"]
    return [constraint]


def pod_spread(placement: Placement, selector: dict[str, str]) -> dict[str, Any]:
    """The pod spec's ``topologySpreadConstraints`` entry for a Deployment's pods; empty when spreading is off."""
    constraints = topology_spread(placement, selector)
    return {"topologySpreadConstraints": constraints} if constraints else {}


def disruption_budget(
    name: str, *, metadata: dict[str, Any], selector: dict[str, str], parent: pulumi.Resource
) -> k8s.policy.v1.PodDisruptionBudget:
    """A replicated workload loses at most one pod at a time to a drain; a pod not ready never blocks one."""
    return k8s.policy.v1.PodDisruptionBudget(  # type: ignore[call-overload]  # pulumi-kubernetes overloads vs manifest-style dicts
        name,
        metadata=metadata,
        spec={"maxUnavailable": 1, "unhealthyPodEvictionPolicy": "AlwaysAllow", "selector": {"matchLabels": selector}},
        opts=pulumi.ResourceOptions(parent=parent),
    )
