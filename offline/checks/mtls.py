"""mTLS against the edge list: no client without a sidecar faces a server that is STRICT for it.

Read from the plan: the edges (the ``NetworkPolicies`` component's input, each marking a client or
server without a sidecar, ``components.network_edges``), the injected namespaces (their
``istio-injection`` label) and the rendered ``PeerAuthentication`` objects. For every edge from a
plain-text client to a server with a sidecar in an injected namespace, the mode that applies on
each of its ports is resolved as Istio does: the policy selecting the server's pods (its
``portLevelMtls`` first), else the namespace's, else the mesh-wide one in the root namespace,
else PERMISSIVE. An edge whose server pods are unknown is judged by the namespace's policy alone.

STRICT on such a port is a mandatory finding (the client would be refused). Every plain-text
edge into an injected namespace, and every injected namespace's mode, is printed (info): which
client, why it has no sidecar, and what lets it through (or why no policy applies to the server).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from offline.checks.network_edges import edge_list
from offline.plan import Finding, Plan

CHECK = "mtls-plaintext-clients"
ISTIO_NAME = ("app.kubernetes.io/name", "istio")
"""The label of Istio's own namespace (the mesh's root namespace)."""


def _namespaces(plan: Plan) -> tuple[set[str], set[str]]:
    """Injected namespaces, and the root namespace(s)."""
    injected, root = set(), set()
    for ns in plan.k8s("Namespace"):
        labels = ns.metadata.get("labels") or {}
        if labels.get("istio-injection") == "enabled":
            injected.add(ns.k8s_name)
        if labels.get(ISTIO_NAME[0]) == ISTIO_NAME[1]:
            root.add(ns.k8s_name)
    return injected, root


def _policies(plan: Plan) -> list[tuple[str, dict[str, str] | None, dict[str, Any]]]:
    """``(namespace, selector labels or None, spec)`` of every PeerAuthentication."""
    found = []
    for policy in plan.k8s("PeerAuthentication"):
        spec = policy.inputs.get("spec") or {}
        selector = (spec.get("selector") or {}).get("matchLabels")
        found.append((str(policy.namespace), dict(selector) if selector else None, spec))
    return found


def _mode(mtls: dict[str, Any] | None) -> str | None:
    """The mode of an ``mtls`` or ``portLevelMtls`` entry; None when it leaves the choice to the next policy."""
    mode = (mtls or {}).get("mode")
    return None if mode in (None, "UNSET") else str(mode)


def effective_mode(
    policies: Iterable[tuple[str, dict[str, str] | None, dict[str, Any]]], root: set[str], namespace: str,
    pods: dict[str, str], port: int | None,
) -> tuple[str, str]:
    """The mode Istio applies to ``port`` of the pods labelled ``pods`` in ``namespace``, and which policy set it."""
    policies = list(policies)
    if pods:
        for ns, selector, spec in policies:
            if ns == namespace and selector and selector.items() <= pods.items():
                port_mode = _mode((spec.get("portLevelMtls") or {}).get(str(port)))
                if port_mode:
                    return port_mode, f"port {port} of {_labels(selector)}"
                if workload_mode := _mode(spec.get("mtls")):
                    return workload_mode, f"the policy of {_labels(selector)}"
    for scope, where in ((namespace, f"namespace {namespace}"), *((r, "the mesh-wide default") for r in root)):
        for ns, selector, spec in policies:
            if ns == scope and selector is None and (mode := _mode(spec.get("mtls"))):
                return mode, where
    return "PERMISSIVE", "Istio's default"


def _labels(selector: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))


def check_plaintext_clients(plan: Plan) -> list[Finding]:
    edges = edge_list(plan) or []
    injected, root = _namespaces(plan)
    policies = _policies(plan)
    findings = []
    for ns in sorted(injected):
        mode, where = effective_mode(policies, root, ns, {}, None)
        exceptions = [_labels(sel) + " ports " + ",".join(sorted(spec.get("portLevelMtls") or {}))
                      for n, sel, spec in policies if n == ns and sel]
        detail = f" (PERMISSIVE for {'; '.join(exceptions)})" if exceptions else ""
        findings.append(Finding(CHECK, "info", None, f"namespace {ns}: mTLS {mode} by {where}{detail}"))
    for edge in edges:
        if edge["target"] not in injected or not edge.get("plaintextClient"):
            continue
        if edge.get("plaintextServer"):
            findings.append(Finding(CHECK, "info", None, (
                f"{edge['source']} -> {edge['target']}:{','.join(map(str, edge.get('ports') or [])) or 'any port'} "
                f"({edge['name']}): plain text, no PeerAuthentication applies (client: {edge['plaintextClient']}; "
                f"server: {edge['plaintextServer']})"
            )))
            continue
        pods = dict(edge.get("serverPods") or {})
        for port in edge.get("ports") or [None]:
            mode, where = effective_mode(policies, root, edge["target"], pods, port)
            what = (f"{edge['source']} -> {edge['target']}:{port or 'any port'} ({edge['name']}: {edge['why']}): "
                    f"the client has no sidecar ({edge['plaintextClient']})")
            if mode == "STRICT":
                findings.append(Finding(CHECK, "mandatory", None, (
                    f"{what}, but {where} is mTLS STRICT and refuses it; leave that port PERMISSIVE for the "
                    f"server (components/mtls.py derives it from the edge) or the namespace (istio.mtls)"
                )))
            else:
                findings.append(Finding(CHECK, "info", None, f"{what}: plain text, {mode} by {where}"))
    return findings


CHECKS = [check_plaintext_clients]
