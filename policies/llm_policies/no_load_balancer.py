"""Advisory: no Service of type LoadBalancer except the gateway's.

The platform has one way in, the Istio Gateway; istiod creates that Gateway's Service itself (from
the Gateway API ``Gateway``), so a LoadBalancer Service in the program or in chart values is a
second public entry point that bypasses routing, auth and tracing. A Service labelled as the
gateway's (``gatewayLabels`` config) is allowed, as is the Istio ``gateway`` chart.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ResourceValidationPolicy, Severity

from llm_policies._util import CHART_TYPES, as_dict, as_list, chart_name, dig, k8s_objects, resource_validator, walk

DEFAULT_GATEWAY_LABELS = ("gateway.networking.k8s.io/gateway-name", "istio.io/gateway-name", "istio=ingressgateway")
GATEWAY_CHARTS = ("gateway",)
FIX = "keep it ClusterIP and expose it through an HTTPRoute on the platform Gateway"


def is_gateway(labels: dict[str, Any], selectors: list[str]) -> bool:
    for selector in selectors:
        key, _, value = selector.partition("=")
        if key in labels and (not value or str(labels[key]) == value):
            return True
    return False


def check_no_load_balancer(resource_type: str, props: dict[str, Any], config: dict[str, Any]) -> Iterator[str]:
    """LoadBalancer Services not labelled as the gateway's; ``service.type: LoadBalancer`` in chart values."""
    selectors = [str(s) for s in as_list(config.get("gatewayLabels"))] or list(DEFAULT_GATEWAY_LABELS)
    for obj in k8s_objects(resource_type, props):
        is_load_balancer = obj.kind == "Service" and dig(obj.body, "spec", "type") == "LoadBalancer"
        if is_load_balancer and not is_gateway(obj.labels, selectors):
            yield f"{obj.describe()} is of type LoadBalancer but is not the gateway's: {FIX}."
    if resource_type in CHART_TYPES and chart_name(props) not in GATEWAY_CHARTS:
        chart = chart_name(props) or "chart"
        for path, node in walk(props.get("values")):
            for key, block in as_dict(node).items():
                if key.lower().endswith("service") and as_dict(block).get("type") == "LoadBalancer":
                    where = f"{path}.{key}" if path else key
                    yield f"Helm values of '{chart}' set values.{where}.type: LoadBalancer: {FIX}."


POLICY = ResourceValidationPolicy(
    name="k8s-service-no-load-balancer",
    description="No Service of type LoadBalancer other than the gateway's.",
    validate=resource_validator(check_no_load_balancer),
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    tags=["networking", "exposure"],
    config_schema=PolicyConfigSchema(
        properties={
            "gatewayLabels": {
                "type": "array",
                "items": {"type": "string"},
                "default": list(DEFAULT_GATEWAY_LABELS),
                "description": "Labels ('key' or 'key=value') that mark a Service as the gateway's.",
            }
        }
    ),
    remediation_steps="Use type ClusterIP and route to the Service from an HTTPRoute.",
)
