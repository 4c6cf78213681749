"""Every custom resource waits for whatever installs its CRD.

A custom resource applied before its CRD fails with "no matches for kind" in `pulumi up` (the
lab shows it), but `pulumi preview` lets it through because the CRD may come in the same update.
So the ordering is checked here, on the plan: each custom resource must depend, directly or
through its parents, on the chart or bundle that installs the CRDs of its API group. A group
missing from ``CRD_SOURCES`` is a finding too: say where its CRDs come from.
"""

from __future__ import annotations

from offline.checks.gateway import CRD_BUNDLE_TYPES, chart_name
from offline.plan import Finding, Plan, Resource

CHECK = "crds-first"

CRD_SOURCES: dict[str, str] = {
    "gateway.networking.k8s.io": "gateway-api bundle",
    "monitoring.coreos.com": "kube-prometheus-stack",
    "networking.istio.io": "base",
    "security.istio.io": "base",
    "telemetry.istio.io": "base",
    "extensions.istio.io": "base",
    "cert-manager.io": "cert-manager",
    "acme.cert-manager.io": "cert-manager",
    "clickhouse.com": "clickhouse-operator-helm",
    "keda.sh": "keda",
    "karpenter.sh": "karpenter-crd",
    "karpenter.k8s.aws": "karpenter-crd",
}
"""API group -> the chart name (or the Gateway API bundle) that installs its CRDs."""

NOT_OBJECTS = ("helm.sh", "yaml", "kustomize")
"""Pulumi-side kinds under the kubernetes package that are not cluster objects."""


def api_group(resource: Resource) -> str | None:
    """The API group of a custom resource, or None for built-in kinds and non-objects."""
    if not resource.type.startswith("kubernetes:"):
        return None
    group_version = resource.type.split(":")[1]
    group = group_version.split("/")[0] if "/" in group_version else ""
    if not group or group in NOT_OBJECTS or "." not in group:
        return None  # core ("core/v1"), apps, batch, autoscaling, policy, ...
    if group in CRD_SOURCES:
        return group
    return None if group.endswith(".k8s.io") else group  # *.k8s.io are built in, except the Gateway API


def sources(plan: Plan, source: str) -> list[Resource]:
    if source == "gateway-api bundle":
        return [r for r in plan.resources if r.type in CRD_BUNDLE_TYPES]
    return [c for c in plan.charts() if chart_name(c) == source]


def check_custom_resources_after_crds(plan: Plan) -> list[Finding]:
    findings = []
    for resource in plan.resources:
        group = api_group(resource)
        if group is None:
            continue
        source = CRD_SOURCES.get(group)
        if source is None:
            findings.append(
                Finding(
                    CHECK,
                    "mandatory",
                    resource.urn,
                    f"{resource.kind} {resource.name}: no known source for the CRDs of API group {group!r} "
                    "(add it to offline/checks/crds.py CRD_SOURCES with the chart that installs them)",
                )
            )
            continue
        installers = sources(plan, source)
        if not any(plan.depends_on(resource.urn, installer.urn) for installer in installers):
            findings.append(
                Finding(
                    CHECK,
                    "mandatory",
                    resource.urn,
                    f"{resource.kind} {resource.name} does not depend on the {source} that installs its CRDs"
                    + ("" if installers else " (the plan has none)")
                    + ": `pulumi up` could apply it first and fail with 'no matches for kind'",
                )
            )
    return findings


CHECKS = [check_custom_resources_after_crds]
