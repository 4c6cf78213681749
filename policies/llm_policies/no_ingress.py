"""No Ingress of any API version, and no Helm values that switch a chart's ingress on.

The platform's only way in is the Istio Gateway programmed through Gateway API routes; an Ingress
would be a second, unmeshed entry point that no HTTPRoute policy (timeouts, mTLS, auth) covers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, Severity

from llm_policies._util import CHART_TYPES, chart_name, is_true, k8s_objects, resource_validator, walk

INGRESS_API_GROUPS = ("networking.k8s.io/", "extensions/")

INSTEAD = (
    "use a Gateway API HTTPRoute (or GRPCRoute) attached to the platform Gateway "
    "(components/gateway_routes.py) instead"
)


NOT_AN_INGRESS = ("gateway", "controller", "class")
"""Keys that mention ingress but create no Ingress object (Istio's ingress gateway, an ingress class)."""


def _ingress_key(key: str) -> bool:
    lowered = key.lower()
    return "ingress" in lowered and not any(word in lowered for word in NOT_AN_INGRESS)


def ingress_paths(values: Any) -> Iterator[str]:
    """Paths of every ingress-like subtree switched on in Helm values, at any depth.

    ``ingress.enabled``, per-component ingresses of umbrella charts (``loki.gateway.ingress``,
    ``server.ingress``), lists (``ingresses[0].enabled``), flat flags (``ingressEnabled: true``,
    ``"ingress.enabled": true``) and a bare ``ingress: true``.
    """
    for path, node in walk(values):
        if not isinstance(node, dict):
            continue
        named = [part for part in path.replace("[", ".[").split(".") if part and not part.startswith("[")]
        if named and _ingress_key(named[-1]) and is_true(node.get("enabled")):
            yield f"{path}.enabled"
        for key, block in node.items():
            if _ingress_key(key) and not isinstance(block, dict | list) and is_true(block):
                yield f"{path}.{key}" if path else key


def check_no_ingress(resource_type: str, props: dict[str, Any], config: dict[str, Any]) -> Iterator[str]:
    """An Ingress object, or chart values with an ingress enabled."""
    for obj in k8s_objects(resource_type, props):
        if obj.kind == "Ingress" and (obj.api_version.startswith(INGRESS_API_GROUPS) or not obj.api_version):
            yield f"{obj.describe()} ({obj.api_version or 'Ingress'}) is forbidden: {INSTEAD}."
    if resource_type in CHART_TYPES:
        chart = chart_name(props) or "chart"
        for path in ingress_paths(props.get("values")):
            yield f"Helm values of '{chart}' switch an Ingress on at values.{path}: set it to false and {INSTEAD}."



POLICY = ResourceValidationPolicy(
    name="k8s-ingress-disallowed",
    description="No Kubernetes Ingress (any API version) and no chart ingress switched on: Gateway API routes only.",
    validate=resource_validator(check_no_ingress),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["networking", "gateway-api"],
    remediation_steps=(
        "Delete the Ingress (or set the chart's ingress.enabled to false) and route the host through an "
        "HTTPRoute/GRPCRoute whose parentRefs name the platform Gateway."
    ),
)
