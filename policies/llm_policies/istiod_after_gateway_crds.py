"""istiod must wait for the Gateway API CRDs.

istiod starts its Gateway API controllers only for the kinds that exist when it starts: installed
before the CRDs, it never programs the Gateway and every HTTPRoute stays unaccepted until someone
restarts it. The edge may be direct or through other resources (CRDs -> istio base -> istiod).

What counts as istiod: the istiod chart, or raw manifests that are istiod (a Deployment running the
``pilot`` image or ``pilot-discovery``/``discovery``, or webhook configurations served by the
``istiod`` Service), typed or inside a YAML group.

What counts as the CRD bundle: the actual CRDs (kind CustomResourceDefinition, group
``gateway.networking.k8s.io``, names such as ``gateways``/``httproutes``/``grpcroutes``), typed, rendered
by a YAML group, kustomization or chart, or listed in a YAML group's ``objs``, and the group or chart
that holds them. A file name or a string mentioning the group is not enough. In ``pulumi preview`` a
dependency may name the holder (a remote component) or the CRDs it rendered (its children), so both count.
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

from llm_policies._util import (
    CHART_TYPES,
    YAML_TYPES,
    K8sObject,
    Node,
    ancestors,
    as_dict,
    as_list,
    chart_name,
    containers,
    dig,
    k8s_objects,
    stack_nodes,
)

GATEWAY_GROUP = "gateway.networking.k8s.io"
GATEWAY_CRD_NAMES = frozenset({"gateways", "gatewayclasses", "httproutes", "grpcroutes", "referencegrants"})
WEBHOOK_KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")


def is_pilot(obj: K8sObject) -> bool:
    """A Deployment running istiod's pilot-discovery, or a webhook configuration istiod serves."""
    if obj.kind == "Deployment":
        for _, container in containers(obj):
            image = str(container.get("image") or "").rsplit("/", 1)[-1]
            words = [str(w) for w in as_list(container.get("command")) + as_list(container.get("args"))]
            if image.startswith("pilot") or any("pilot-discovery" in w for w in words) or words[:1] == ["discovery"]:
                return True
    if obj.kind in WEBHOOK_KINDS:
        services = [dig(as_dict(h), "clientConfig", "service", "name") for h in as_list(obj.body.get("webhooks"))]
        return "istiod" in services
    return False


def is_istiod(node: Node) -> bool:
    if node.type in CHART_TYPES:
        return chart_name(node.props) == "istiod" or "istiod" in node.name.lower()
    return any(is_pilot(obj) for obj in k8s_objects(node.type, node.props))


def is_gateway_crd(obj: K8sObject) -> bool:
    spec = as_dict(obj.body.get("spec"))
    return (
        obj.kind == "CustomResourceDefinition"
        and spec.get("group") == GATEWAY_GROUP
        and dig(spec, "names", "plural") in GATEWAY_CRD_NAMES
    )


def holds_gateway_crds(node: Node) -> bool:
    return any(is_gateway_crd(obj) for obj in k8s_objects(node.type, node.props))


def bundle_urns(nodes: Mapping[str, Node]) -> set[str]:
    """The CRD bundle: the Gateway API CRDs and the YAML groups, kustomizations or charts that hold them."""
    bundle = {urn for urn, node in nodes.items() if holds_gateway_crds(node)}
    for urn in list(bundle):
        bundle.update(a.urn for a in ancestors(nodes, urn) if a.type in YAML_TYPES | CHART_TYPES)
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
