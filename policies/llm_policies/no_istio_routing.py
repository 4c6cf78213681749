"""No Istio VirtualService or DestinationRule (any ``networking.istio.io`` version).

Routing lives in Gateway API objects only, so one set of objects describes every route and Istio is
replaceable. Each message names the Gateway API field that takes over what the Istio object did.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, Severity

from llm_policies._util import CHART_TYPES, as_dict, chart_name, is_true, k8s_objects, resource_validator, walk

ISTIO_GROUP = "networking.istio.io/"

REPLACEMENTS = {
    "VirtualService": (
        "hosts -> HTTPRoute.spec.hostnames; gateways -> spec.parentRefs; http[].match -> rules[].matches; "
        "http[].route[].destination -> rules[].backendRefs[] (Service name/port); route[].weight -> "
        "backendRefs[].weight; timeout -> rules[].timeouts.request; retries -> rules[].retry (or Istio's "
        "retry annotation); rewrite/headers -> rules[].filters (URLRewrite, RequestHeaderModifier); "
        "gRPC services -> GRPCRoute"
    ),
    "DestinationRule": (
        "subsets -> one Service per subset (selecting its labels) referenced from backendRefs[]; "
        "trafficPolicy.tls -> BackendTLSPolicy (mesh mTLS needs nothing: PeerAuthentication covers it); "
        "connectionPool/outlierDetection -> leave to mesh defaults or a BackendTrafficPolicy; "
        "loadBalancer weights -> backendRefs[].weight"
    ),
}
VALUE_KEYS = {"virtualservice": "VirtualService", "destinationrule": "DestinationRule"}


def check_no_istio_routing(resource_type: str, props: dict[str, Any], config: dict[str, Any]) -> Iterator[str]:
    """A VirtualService/DestinationRule object (typed, CustomResource or YAML), or chart values creating one."""
    token_group = resource_type.split(":")[1] if resource_type.count(":") == 2 else ""
    for obj in k8s_objects(resource_type, props):
        istio = obj.api_version.startswith(ISTIO_GROUP) or token_group.startswith(ISTIO_GROUP)
        if obj.kind in REPLACEMENTS and istio:
            yield (
                f"{obj.describe()} ({obj.api_version}) is forbidden: use Gateway API routes instead. "
                f"{REPLACEMENTS[obj.kind]}."
            )
    if resource_type in CHART_TYPES:
        chart = chart_name(props) or "chart"
        for path, node in walk(props.get("values")):
            for key, block in as_dict(node).items():
                kind = VALUE_KEYS.get(key.lower())
                if kind and is_true(as_dict(block).get("enabled")):
                    where = f"{path}.{key}" if path else key
                    yield (
                        f"Helm values of '{chart}' create an Istio {kind} at values.{where}.enabled: set it to false "
                        f"and route with Gateway API instead. {REPLACEMENTS[kind]}."
                    )


POLICY = ResourceValidationPolicy(
    name="istio-routing-resources-disallowed",
    description="No Istio VirtualService or DestinationRule: Gateway API HTTPRoute/GRPCRoute (and BackendTLSPolicy).",
    validate=resource_validator(check_no_istio_routing),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["networking", "istio", "gateway-api"],
    remediation_steps="Rewrite the object as Gateway API routes, mapping fields as the violation message lists.",
)
