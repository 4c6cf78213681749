"""istiod must wait for the Gateway API CRDs.

istiod starts its Gateway API controllers only for the kinds that exist when it starts: installed
before the CRDs, it never programs the Gateway and every HTTPRoute stays unaccepted until someone
restarts it. The edge may be direct or through other resources (CRDs -> istio base -> istiod).

What counts as the CRD bundle: a YAML ConfigFile/ConfigGroup whose source names the Gateway API, a
CustomResourceDefinition of ``gateway.networking.k8s.io``, or any resource under one of those. In
``pulumi preview`` a dependency may name the bundle itself (a remote component) or the CRDs it
rendered (its children), so both count.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from llm_policies._util import CHART_TYPES, YAML_TYPES, Node, ancestors, chart_name, dig, stack_nodes, strings

GATEWAY_GROUP = "gateway.networking.k8s.io"
CRD_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"
BUNDLE_HINTS = ("gateway-api", "gateway_api", GATEWAY_GROUP)


def is_istiod(node: Node) -> bool:
    if node.type not in CHART_TYPES:
        return False
    return chart_name(node.props) == "istiod" or "istiod" in node.name.lower()


def is_gateway_crd(node: Node) -> bool:
    return node.type == CRD_TYPE and dig(node.props, "spec", "group") == GATEWAY_GROUP


def names_gateway_api(node: Node) -> bool:
    """A YAML group whose file, URL, inline YAML or objects mention the Gateway API."""
    if node.type not in YAML_TYPES:
        return False
    texts = [text for _, text in strings(node.props)]
    # The inference extension ships its own CRDs from a gateway-api-* repository: not this bundle.
    return any(hint in text and "inference" not in text for text in texts for hint in BUNDLE_HINTS)


def bundle_urns(nodes: Mapping[str, Node]) -> set[str]:
    """The CRD bundle: Gateway API YAML groups and CRDs, and every ancestor group of such a CRD."""
    bundle = {urn for urn, node in nodes.items() if is_gateway_crd(node) or names_gateway_api(node)}
    for urn in list(bundle):
        bundle.update(a.urn for a in ancestors(nodes, urn) if a.type in YAML_TYPES)
    return bundle


def waits_for(nodes: Mapping[str, Node], start: str, targets: set[str]) -> bool:
    """True when ``start`` waits for any of ``targets`` (or a resource under one of them)."""
    children: dict[str, list[str]] = {}
    for node in nodes.values():
        if node.parent:
            children.setdefault(node.parent, []).append(node.urn)

    def edges(urn: str) -> Iterator[str]:
        node = nodes.get(urn)
        if node is None:
            return
        yield from node.dependencies
        # A resource waits for what its ancestors wait for; a component waits for its children.
        for ancestor in ancestors(nodes, urn):
            yield from ancestor.dependencies
        if urn != start:
            yield from children.get(urn, [])

    seen: set[str] = set()
    todo = list(edges(start))
    while todo:
        urn = todo.pop()
        if urn in seen:
            continue
        seen.add(urn)
        if urn in targets or any(a.urn in targets for a in ancestors(nodes, urn)):
            return True
        todo.extend(edges(urn))
    return False


def validate_istiod_after_gateway_crds(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    nodes = stack_nodes(args)
    istiods = [node for node in nodes.values() if is_istiod(node)]
    if not istiods:
        return
    bundle = bundle_urns(nodes)
    for istiod in istiods:
        if not bundle:
            report_violation(
                f"istiod ('{istiod.name}') is deployed but the stack installs no Gateway API CRD bundle: add a "
                "kubernetes.yaml.v2.ConfigFile of the pinned Gateway API release and make istiod depend on it.",
                istiod.urn,
            )
        elif not waits_for(nodes, istiod.urn, bundle):
            report_violation(
                f"istiod ('{istiod.name}') does not depend on the Gateway API CRD bundle, so it may start before the "
                "CRDs exist and never program the Gateway: add depends_on=[<the CRD ConfigFile>] to istiod, or to "
                "the istio base chart it already depends on.",
                istiod.urn,
            )


POLICY = StackValidationPolicy(
    name="istiod-requires-gateway-api-crds",
    description="istiod must depend, directly or transitively, on the Gateway API CRD bundle.",
    validate=validate_istiod_after_gateway_crds,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["istio", "gateway-api", "ordering"],
    remediation_steps="Give istiod (or istio base) depends_on=[gateway_api_crds].",
)
