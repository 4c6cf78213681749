"""Every wired connection is allowed by a NetworkPolicy, and nothing else is.

Three sources meet here, all read from the plan:

* the edge list, the ``edges`` input of the ``NetworkPolicies`` component (built by
  ``components.network_edges`` from the components' outputs);
* the connections the plan wires: every ``<service>.<namespace>.svc[.cluster.local][:port]``
  in a namespaced object's or chart's inputs, every route ``backendRef``, every ServiceMonitor
  (Prometheus, in kube-prometheus-stack's namespace, scrapes the Services it selects);
* the rendered NetworkPolicies.

Findings (all mandatory): a platform namespace without its default-deny; a wired connection no
edge lists (an unpoliced edge); an edge without its ingress or egress allow; an allow that no
edge asks for. The check fails closed: a plan with platform Namespaces but no edge list is a finding.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from offline.checks.gateway import ROUTE_KINDS, chart_name
from offline.plan import Finding, Plan, Resource

COMPONENT_TYPE = "llm-tracing-infra:network_policies:NetworkPolicies"
ANYWHERE = "*"
ANY_CIDRS = {"0.0.0.0/0", "::/0"}
NAME_LABEL = "kubernetes.io/metadata.name"
SERVICE_HOST = re.compile(r"\b([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.cluster\.local)?"
                          r"(:(\d{1,5}))?\b")
CHECK = "network-edges"
PART_OF, PLATFORM = "app.kubernetes.io/part-of", "llm-tracing-infra"
"""Platform namespaces carry this label (``components._k8s.labels``); the check polices those."""


@dataclass(frozen=True)
class Allow:
    """One (peer, port) pair a rendered policy admits; ``port`` None means every port."""

    policy: str
    source: str
    target: str
    port: int | None
    protocol: str
    direction: str
    """``ingress`` (rendered in the target namespace) or ``egress`` (in the source)."""


@dataclass(frozen=True)
class Wired:
    """A connection the plan wires: ``port`` is a Service or pod port, None when not stated."""

    what: str
    source: str
    target: str
    port: int | None


def _finding(resource: str, message: str) -> Finding:
    return Finding(check=CHECK, level="mandatory", urn=resource or None, message=message)


def edge_list(plan: Plan) -> list[dict[str, Any]] | None:
    components = [r for r in plan.resources if r.type == COMPONENT_TYPE]
    if not components:
        return None
    return [edge for c in components for edge in c.inputs.get("edges", [])]


def _peer(peer: dict[str, Any]) -> str | None:
    """A policy peer as an edge end, or None when it is neither a namespace nor any address."""
    if "podSelector" in peer:
        return None
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        return ANYWHERE if block.get("cidr") in ANY_CIDRS and not block.get("except") else None
    selector = peer.get("namespaceSelector")
    if selector == {}:
        return ANYWHERE
    labels = (selector or {}).get("matchLabels") or {}
    if set(labels) == {NAME_LABEL} and not (selector or {}).get("matchExpressions"):
        return str(labels[NAME_LABEL])
    return None


def _is_default_deny(spec: dict[str, Any]) -> bool:
    return (spec.get("podSelector") == {} and set(spec.get("policyTypes", [])) == {"Ingress", "Egress"}
            and not spec.get("ingress") and not spec.get("egress"))


def rendered(plan: Plan) -> tuple[set[str], list[Allow], list[Finding]]:
    """Namespaces with a default-deny, every allow, and findings for rules this check cannot read."""
    denied: set[str] = set()
    allows: list[Allow] = []
    findings: list[Finding] = []
    for policy in plan.k8s("NetworkPolicy"):
        ns, spec = str(policy.namespace), policy.inputs.get("spec") or {}
        if _is_default_deny(spec):
            denied.add(ns)
            continue
        if spec.get("podSelector") != {}:
            findings.append(_finding(policy.urn, f"{ns}/{policy.k8s_name}: selects some pods; edges are per namespace"))
        for direction, key, peers_key in (("Ingress", "ingress", "from"), ("Egress", "egress", "to")):
            for rule in spec.get(key) or []:
                ports = rule.get("ports") or [{}]
                for peer in rule.get(peers_key) or [{"namespaceSelector": {}}]:
                    end = _peer(peer)
                    if end is None:
                        findings.append(_finding(policy.urn, f"{ns}/{policy.k8s_name}: unreadable peer {peer}"))
                        continue
                    for port in ports:
                        number = port.get("port")
                        allows.append(Allow(
                            policy.urn, end if direction == "Ingress" else ns, ns if direction == "Ingress" else end,
                            int(number) if number is not None else None, str(port.get("protocol", "TCP")), key,
                        ))
    return denied, allows, findings


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _source_namespace(resource: Resource) -> str | None:
    if resource.type.startswith("kubernetes:helm.sh/"):
        namespace = resource.inputs.get("namespace")
        return str(namespace) if namespace else None
    return resource.namespace if resource.is_kubernetes_object else None


def wired(plan: Plan, namespaces: set[str]) -> list[Wired]:
    """Connections the plan wires between namespaces the edge list or the plan know."""
    out: list[Wired] = []
    # A ScaledObject's trigger address is dialed by KEDA's operator, from KEDA's namespace.
    keda = [str(c.inputs.get("namespace")) for c in plan.charts() if chart_name(c) == "keda"]
    for resource in plan.resources:
        source = _source_namespace(resource)
        if resource.kind == "ScaledObject" and keda:
            source = keda[0]
        if source is None or resource.kind == "NetworkPolicy":
            continue
        for text in _strings(resource.inputs):
            for match in SERVICE_HOST.finditer(text):
                target = match.group(3)
                if target in namespaces:
                    port = int(match.group(7)) if match.group(7) else None
                    out.append(Wired(f"{resource.name} -> {match.group(0)}", source, target, port))
        if resource.kind in ROUTE_KINDS:
            for rule in (resource.inputs.get("spec") or {}).get("rules") or []:
                for ref in rule.get("backendRefs") or []:
                    target = str(ref.get("namespace") or source)
                    out.append(Wired(f"{resource.name} -> {ref.get('name')}", source, target, ref.get("port")))
    prometheus = [c for c in plan.charts() if chart_name(c) == "kube-prometheus-stack"]
    for monitor in plan.k8s("ServiceMonitor"):
        for chart in prometheus:
            scraper = str(chart.inputs.get("namespace"))
            out.append(Wired(f"{monitor.name} (scrape)", scraper, str(monitor.namespace), None))
    return out


def _covers(edge: dict[str, Any], source: str, target: str, port: int | None, protocol: str | None) -> bool:
    if (edge["source"], edge["target"]) != (source, target):
        return False
    if protocol is not None and edge.get("protocol", "TCP") != protocol:
        return False
    ports = set(edge.get("ports") or [])
    if not ports:
        return True
    if protocol is None:  # a wired connection: its port may be the Service's
        return port is None or port in ports | set(edge.get("servicePorts") or [])
    return port in ports


def check_network_edges(plan: Plan) -> list[Finding]:
    platform = {ns.k8s_name for ns in plan.k8s("Namespace")
                if (ns.metadata.get("labels") or {}).get(PART_OF) == PLATFORM}
    edges = edge_list(plan)
    if edges is None:
        missing = "no NetworkPolicies component: the platform has no edge list, so no policy"
        return [_finding("", missing)] if platform else []
    denied, allows, findings = rendered(plan)
    findings += [_finding(ns, f"namespace {ns} has no default-deny NetworkPolicy (ingress and egress)")
                 for ns in sorted(platform - denied)]
    known = platform | {end for e in edges for end in (e["source"], e["target"])} - {ANYWHERE}
    for conn in wired(plan, known):
        if not any(_covers(e, conn.source, conn.target, conn.port, None) for e in edges):
            port = f":{conn.port}" if conn.port else ""
            findings.append(_finding(conn.what, f"unpoliced edge {conn.source} -> {conn.target}{port} ({conn.what}): "
                                                "add it to components/network_edges.py"))
    for edge in edges:
        for end, direction in ((edge["target"], "ingress"), (edge["source"], "egress")):
            if end not in platform:
                continue
            for port in edge.get("ports") or [None]:
                if not any((a.source, a.target, a.port, a.protocol) ==
                           (edge["source"], edge["target"], port, edge.get("protocol", "TCP"))
                           and a.direction == direction for a in allows):
                    findings.append(_finding(edge["name"], f"edge {edge['name']} ({edge['source']} -> {edge['target']}"
                                                           f" port {port or 'any'}): no {direction} allow in {end}"))
    for allow in allows:
        if not any(_covers(e, allow.source, allow.target, allow.port, allow.protocol)
                   and (allow.port is not None or not e.get("ports")) for e in edges):
            findings.append(_finding(allow.policy, f"allows {allow.source} -> {allow.target} port "
                                                   f"{allow.port or 'any'}/{allow.protocol}, which no edge wires"))
    return findings


CHECKS = [check_network_edges]
