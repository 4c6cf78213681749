"""NetworkPolicies: default-deny in every platform namespace, then one allow per edge of the wiring.

Each ``Edge`` (``components.network_edges``) becomes an ingress allow in its target namespace and
an egress allow in its source namespace, when that end is a platform namespace. Ends outside the
platform are matched by namespace name (``kube-system`` for DNS) or, for ``ANYWHERE``, by any
address and any namespace. Each policy names its edge in an annotation, so ``kubectl describe``
says why a connection is allowed. The component's input is the edge list itself: the offline
check ``network-edges`` compares it to the policies rendered here and to the wiring in the plan.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict

from components._k8s import TOKEN_PREFIX, labels
from components.contracts import ANYWHERE, Edge, NamespaceRef

EDGE_ANNOTATION = "llm-tracing-infra/edge"
WHY_ANNOTATION = "llm-tracing-infra/why"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""Set by the API server on every namespace: selects a namespace by its name."""
ANY_ADDRESS: list[dict[str, Any]] = [
    {"ipBlock": {"cidr": "0.0.0.0/0"}}, {"ipBlock": {"cidr": "::/0"}}, {"namespaceSelector": {}},
]
"""Any address in or outside the cluster (ipBlock semantics for pod addresses vary by CNI)."""


class NetworkPoliciesArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    namespaces: list[NamespaceRef]
    """Every platform namespace: each gets the default-deny and the allows of its edges."""
    edges: list[Edge]
    """The wiring (``network_edges.platform_edges``)."""


def peers(end: str) -> list[dict[str, Any]]:
    """The ``from``/``to`` peers of an edge end."""
    if end == ANYWHERE:
        return list(ANY_ADDRESS)
    return [{"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: end}}}]


def port_rules(edge: Edge) -> list[dict[str, Any]]:
    return [{"port": port, "protocol": edge.protocol} for port in edge.ports]


def allow_spec(edge: Edge, direction: str) -> dict[str, Any]:
    """``Ingress`` (in the target namespace) or ``Egress`` (in the source) of one edge, for all its pods."""
    rule: dict[str, Any] = {"from" if direction == "Ingress" else "to": peers(
        edge.source if direction == "Ingress" else edge.target
    )}
    if edge.ports:
        rule["ports"] = port_rules(edge)
    return {"podSelector": {}, "policyTypes": [direction], direction.lower(): [rule]}


class NetworkPolicies(pulumi.ComponentResource):
    """Default-deny (ingress and egress) per namespace plus one allow per edge and direction."""

    def __init__(self, name: str, args: NetworkPoliciesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(
            f"{TOKEN_PREFIX}:network_policies:NetworkPolicies", name,
            {"edges": [edge.as_dict() for edge in args.edges]}, opts,
        )
        by_name = {ns.name: ns for ns in args.namespaces}
        for ns in args.namespaces:
            self._policy(f"{name}-{ns.name}-default-deny", ns, "default-deny", None,
                         {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
        for edge in args.edges:
            if edge.target in by_name:
                self._policy(f"{name}-{edge.name}-in", by_name[edge.target], f"allow-in-{edge.name}", edge,
                             allow_spec(edge, "Ingress"))
            if edge.source in by_name:
                self._policy(f"{name}-{edge.name}-out", by_name[edge.source], f"allow-out-{edge.name}", edge,
                             allow_spec(edge, "Egress"))
        self.register_outputs({})

    def _policy(self, name: str, ns: NamespaceRef, k8s_name: str, edge: Edge | None, spec: dict[str, Any]) -> None:
        annotations = {EDGE_ANNOTATION: edge.name, WHY_ANNOTATION: edge.why} if edge else {}
        k8s.networking.v1.NetworkPolicy(
            name,
            metadata={"name": k8s_name, "namespace": ns.output, "labels": labels("network-policy", "security"),
                      "annotations": annotations},
            spec=spec,
            opts=pulumi.ResourceOptions(parent=self),
        )
