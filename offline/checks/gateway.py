"""Wiring checks of the north-south path: Gateway -> listeners -> routes -> Services, and the mesh under it.

What a cluster would only tell us after ``pulumi up`` (a route not ``Accepted``, a backend
``RefNotPermitted`` or ``BackendNotFound``, istiod started before the CRDs it watches), proved
on the captured plan instead. All findings are mandatory: each one is a route that would not serve,
or (``gateway-https-redirect``) a port 80 that serves in clear text beside an HTTPS listener.

Backends resolve against the Services the plan holds: ``Service`` objects the program creates,
and the Services that charts render. Charts are provider-side components, so their objects are
not in the plan; ``CHART_SERVICES`` derives, for the charts whose Services are route backends,
the Service names and ports from the chart's values, exactly as the chart templates at the
pinned versions do (``fullnameOverride``, else ``<release>-<chart>``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from offline.plan import Finding, Plan, Resource

GATEWAY_API = "gateway.networking.k8s.io"
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute")
PROTOCOL_ROUTE_KINDS = {
    "HTTP": {"HTTPRoute", "GRPCRoute"},
    "HTTPS": {"HTTPRoute", "GRPCRoute"},
    "TLS": {"TLSRoute"},
    "TCP": {"TCPRoute"},
    "UDP": {"UDPRoute"},
}
"""Route kinds a listener protocol can carry (Gateway API core semantics)."""
GRPC_APP_PROTOCOLS = {"grpc"}
CRD_BUNDLE_TYPES = ("kubernetes:yaml/v2:ConfigFile", "kubernetes:yaml/v2:ConfigGroup", "kubernetes:yaml:ConfigFile")


# ---------------------------------------------------------------------------------------------
# Services: created by the program, or rendered by a chart
# ---------------------------------------------------------------------------------------------


@dataclass
class ServicePorts:
    """A Service as a backendRef sees it: port number -> appProtocol (None when unset)."""

    namespace: str
    name: str
    ports: dict[int, str | None] = field(default_factory=dict)
    source: str = ""


def _get(values: Any, path: str, default: Any = None) -> Any:
    node = values
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return default if node is None else node


def _fullname(values: dict[str, Any], release: str, chart: str, limit: int = 63) -> str:
    """Helm's common ``<chart>.fullname`` helper: override, else release name (+ chart name)."""
    override = _get(values, "fullnameOverride")
    if override:
        return str(override)[:limit].rstrip("-")
    name = str(_get(values, "nameOverride") or chart)
    full = release if name in release else f"{release}-{name}"
    return full[:limit].rstrip("-")


def _endpoint_port(endpoint: Any) -> int | None:
    if not isinstance(endpoint, str) or ":" not in endpoint:
        return None
    port = endpoint.rsplit(":", 1)[-1]
    return int(port) if port.isdigit() else None


def _kube_prometheus_stack(release: str, namespace: str, values: dict[str, Any]) -> list[ServicePorts]:
    out = []
    if _get(values, "grafana.enabled", True):
        grafana = _get(values, "grafana", {})
        out.append(ServicePorts(
            str(_get(grafana, "namespaceOverride") or namespace), _fullname(grafana, release, "grafana"),
            {int(_get(grafana, "service.port", 80)): _get(grafana, "service.appProtocol")},
        ))
    if _get(values, "prometheus.enabled", True):
        out.append(ServicePorts(
            namespace, _fullname(values, release, "kube-prometheus-stack", limit=26) + "-prometheus",
            {int(_get(values, "prometheus.service.port", 9090)): None,
             int(_get(values, "prometheus.service.reloaderWebPort", 8080)): None},
        ))
    return out


def _tempo(release: str, namespace: str, values: dict[str, Any]) -> list[ServicePorts]:
    ports: dict[int, str | None] = {3200: None, 9411: None, 55680: None, 55681: None}
    receivers = {"jaeger.protocols.grpc": "0.0.0.0:14250", "jaeger.protocols.thrift_http": "0.0.0.0:14268",
                 "otlp.protocols.grpc": "0.0.0.0:4317", "otlp.protocols.http": "0.0.0.0:4318"}
    for path, default in receivers.items():
        port = _endpoint_port(_get(values, f"tempo.receivers.{path}.endpoint", default))
        if port:
            ports[port] = None
    return [ServicePorts(namespace, _fullname(values, release, "tempo"), ports)]


_COLLECTOR_PORTS: dict[str, dict[str, Any]] = {
    "otlp": {"enabled": True, "servicePort": 4317, "appProtocol": "grpc"},
    "otlp-http": {"enabled": True, "servicePort": 4318},
    "jaeger-compact": {"enabled": True, "servicePort": 6831},
    "jaeger-thrift": {"enabled": True, "servicePort": 14268},
    "jaeger-grpc": {"enabled": True, "servicePort": 14250},
    "zipkin": {"enabled": True, "servicePort": 9411},
    "metrics": {"enabled": False, "servicePort": 8888},
}
"""``ports`` defaults of opentelemetry-collector 0.170.0 (values.yaml), as Helm merges them."""


def _opentelemetry_collector(release: str, namespace: str, values: dict[str, Any]) -> list[ServicePorts]:
    enabled = _get(values, "service.enabled")
    if enabled is False or (_get(values, "mode") == "daemonset" and not enabled):
        return []
    ports: dict[int, str | None] = {}
    overrides = _get(values, "ports", {})
    for key in set(_COLLECTOR_PORTS) | set(overrides):
        port = {**_COLLECTOR_PORTS.get(key, {}), **((overrides or {}).get(key) or {})}
        if port.get("enabled") and port.get("servicePort"):
            ports[int(port["servicePort"])] = port.get("appProtocol")
    namespace = str(_get(values, "namespaceOverride") or namespace)
    return [ServicePorts(namespace, _fullname(values, release, "opentelemetry-collector"), ports)]


def _langfuse(release: str, namespace: str, values: dict[str, Any]) -> list[ServicePorts]:
    web = _get(values, "langfuse.web.service", {})
    port = int(_get(web, "externalPort") or _get(web, "port", 3000))
    return [ServicePorts(namespace, _fullname(values, release, "langfuse") + "-web", {port: None})]


CHART_SERVICES: dict[str, Callable[[str, str, dict[str, Any]], list[ServicePorts]]] = {
    "kube-prometheus-stack": _kube_prometheus_stack,
    "tempo": _tempo,
    "opentelemetry-collector": _opentelemetry_collector,
    "langfuse": _langfuse,
}
"""Chart name -> ``(release, namespace, values) -> Services`` for charts whose Services are route backends.

Each mirrors the chart's templates at its pinned version: kube-prometheus-stack 88.5.3
(``grafana.fullname`` of the subchart, port ``grafana.service.port``; ``<fullname, 26 chars>-prometheus``,
``prometheus.service.port``), tempo 2.2.4 (3200 plus receiver ports), opentelemetry-collector 0.170.0
(every enabled ``ports.*.servicePort`` with its ``appProtocol``), langfuse 2.0.0 (``<fullname>-web``).
"""


def chart_name(chart: Resource) -> str:
    """The chart's name from its ``chart`` input: ``tempo``, ``oci://…/tempo`` or ``…/tempo-2.2.4.tgz``."""
    ref = str(chart.inputs.get("chart", "")).rstrip("/").rsplit("/", 1)[-1]
    match = re.match(r"^(.+?)-v?[0-9]+\.[0-9]+\.[0-9]+.*\.tgz$", ref)
    return match.group(1) if match else ref


def plan_services(plan: Plan) -> dict[tuple[str, str], ServicePorts]:
    """Every Service the plan creates, keyed by (namespace, name)."""
    services: dict[tuple[str, str], ServicePorts] = {}
    for svc in plan.k8s("Service"):
        ports = {int(p["port"]): p.get("appProtocol") for p in _spec(svc).get("ports") or [] if "port" in p}
        services[(svc.namespace or "default", svc.k8s_name)] = ServicePorts(
            svc.namespace or "default", svc.k8s_name, ports, svc.urn
        )
    for chart in plan.charts():
        render = CHART_SERVICES.get(chart_name(chart))
        values = chart.inputs.get("values")
        if render is None or not isinstance(values, dict):
            continue
        release = str(chart.inputs.get("name") or chart.name)
        for service in render(release, str(chart.inputs.get("namespace") or "default"), values):
            service.source = chart.urn
            services[(service.namespace, service.name)] = service
    return services


# ---------------------------------------------------------------------------------------------
# Gateway API objects
# ---------------------------------------------------------------------------------------------


def _gateway_api(plan: Plan, *kinds: str) -> list[Resource]:
    return [r for r in plan.resources if r.is_kubernetes_object and r.kind in kinds
            and r.api_version.startswith(f"{GATEWAY_API}/")]


def _spec(resource: Resource) -> dict[str, Any]:
    spec = resource.inputs.get("spec")
    return spec if isinstance(spec, dict) else {}


def _ns(resource: Resource) -> str:
    return resource.namespace or "default"


def hostname_matches(listener: str, route: str) -> bool:
    """Whether a route hostname falls under a listener hostname (wildcards cover one or more labels)."""
    listener, route = listener.lower(), route.lower()
    if listener == route:
        return True
    if listener.startswith("*."):
        suffix = listener[1:]
        return route.endswith(suffix) and len(route) > len(suffix) and (
            not route.startswith("*.") or len(route[1:]) >= len(suffix)
        )
    return route.startswith("*.") and listener.endswith(route[1:])


def _namespace_labels(plan: Plan) -> dict[str, dict[str, str]]:
    return {ns.k8s_name: dict(ns.metadata.get("labels") or {}) for ns in plan.k8s("Namespace")}


def _refusal(listener: dict[str, Any], gateway_ns: str, kind: str, route_ns: str,
             ns_labels: dict[str, dict[str, str]]) -> str | None:
    """Why ``listener`` does not admit a ``kind`` route from ``route_ns``; None when it does."""
    protocol = str(listener.get("protocol", ""))
    if kind not in PROTOCOL_ROUTE_KINDS.get(protocol, set()):
        return f"listener '{listener.get('name')}' ({protocol}) cannot carry a {kind}"
    allowed = listener.get("allowedRoutes") or {}
    kinds = {k.get("kind") for k in allowed.get("kinds") or [] if k.get("group", GATEWAY_API) == GATEWAY_API}
    if kinds and kind not in kinds:
        return f"listener '{listener.get('name')}' allows only {sorted(kinds)}, not {kind}"
    namespaces = allowed.get("namespaces") or {}
    origin = namespaces.get("from", "Same")
    if origin == "Same" and route_ns != gateway_ns:
        return f"listener '{listener.get('name')}' admits routes from namespace {gateway_ns} only, not {route_ns}"
    if origin == "Selector":
        wanted = (namespaces.get("selector") or {}).get("matchLabels") or {}
        labels = ns_labels.get(route_ns, {})
        if any(labels.get(k) != v for k, v in wanted.items()):
            return f"listener '{listener.get('name')}' selects namespaces {wanted}; {route_ns} does not match"
    return None


def check_route_parents(plan: Plan) -> list[Finding]:
    """Every parentRef names a Gateway listener (sectionName/port) that admits the route, hostnames included."""
    findings: list[Finding] = []
    gateways = {(_ns(g), g.k8s_name): g for g in _gateway_api(plan, "Gateway")}
    ns_labels = _namespace_labels(plan)

    def finding(route: Resource, message: str) -> None:
        findings.append(Finding("gateway-route-parents", "mandatory", route.urn,
                                f"{route.kind} {_ns(route)}/{route.k8s_name}: {message}"))

    for route in _gateway_api(plan, *ROUTE_KINDS):
        spec = _spec(route)
        if not spec.get("parentRefs"):
            finding(route, "has no parentRefs: it attaches to no Gateway and serves nothing")
        for ref in spec.get("parentRefs") or []:
            if ref.get("kind", "Gateway") != "Gateway" or ref.get("group", GATEWAY_API) != GATEWAY_API:
                finding(route, f"parentRef kind {ref.get('kind')} is not a Gateway; only Gateways are checked")
                continue
            key = (str(ref.get("namespace") or _ns(route)), str(ref.get("name")))
            gateway = gateways.get(key)
            if gateway is None:
                finding(route, f"parentRef names Gateway {key[0]}/{key[1]}, which the program does not create")
                continue
            listeners = _spec(gateway).get("listeners") or []
            section, port = ref.get("sectionName"), ref.get("port")
            candidates = [
                lst for lst in listeners
                if (section is None or lst.get("name") == section) and (port is None or lst.get("port") == port)
            ]
            if not candidates:
                have = ", ".join(f"{lst.get('name')}/{lst.get('port')}" for lst in listeners)
                wanted = " ".join(x for x in (f"sectionName={section}" if section else "",
                                              f"port={port}" if port else "") if x)
                finding(route, f"Gateway {key[0]}/{key[1]} has no listener with {wanted} (listeners: {have})")
                continue
            refusals = [_refusal(lst, key[0], route.kind, _ns(route), ns_labels) for lst in candidates]
            admitting = [lst for lst, why in zip(candidates, refusals, strict=True) if why is None]
            if not admitting:
                finding(route, "; ".join(why for why in refusals if why))
                continue
            for lst in admitting:
                listener_host = lst.get("hostname")
                for host in spec.get("hostnames") or []:
                    if listener_host and not hostname_matches(str(listener_host), str(host)):
                        finding(route, f"hostname {host} does not match listener '{lst.get('name')}' "
                                       f"hostname {listener_host}")
    return findings


def _granted(grants: list[Resource], kind: str, route_ns: str, target_ns: str, service: str) -> bool:
    for grant in grants:
        if _ns(grant) != target_ns:
            continue
        spec = _spec(grant)
        origin = any(f.get("group") == GATEWAY_API and f.get("kind") == kind and f.get("namespace") == route_ns
                     for f in spec.get("from") or [])
        target = any(t.get("group", "") == "" and t.get("kind") == "Service" and t.get("name") in (None, service)
                     for t in spec.get("to") or [])
        if origin and target:
            return True
    return False


def check_route_backends(plan: Plan) -> list[Finding]:
    """Every backendRef is a Service port the plan creates; cross-namespace ones are granted; gRPC ports say so."""
    findings: list[Finding] = []
    services = plan_services(plan)
    grants = _gateway_api(plan, "ReferenceGrant")
    for route in _gateway_api(plan, *ROUTE_KINDS):
        label = f"{route.kind} {_ns(route)}/{route.k8s_name}"
        for rule in _spec(route).get("rules") or []:
            for ref in rule.get("backendRefs") or []:
                if ref.get("kind", "Service") != "Service" or ref.get("group", "") != "":
                    findings.append(Finding("gateway-route-backends", "mandatory", route.urn,
                                            f"{label}: backendRef kind {ref.get('kind')} is not a core Service"))
                    continue
                namespace, name, port = str(ref.get("namespace") or _ns(route)), str(ref.get("name")), ref.get("port")
                where = f"{label}: backendRef {namespace}/{name}:{port}"
                if namespace != _ns(route) and not _granted(grants, route.kind, _ns(route), namespace, name):
                    findings.append(Finding(
                        "gateway-route-backends", "mandatory", route.urn,
                        f"{where}: cross-namespace reference without a ReferenceGrant in {namespace} from "
                        f"{route.kind} in {_ns(route)} to Service {name} (RefNotPermitted)",
                    ))
                service = services.get((namespace, name))
                if service is None:
                    findings.append(Finding("gateway-route-backends", "mandatory", route.urn,
                                            f"{where}: no such Service is created by the program or its charts"))
                    continue
                if port not in service.ports:
                    findings.append(Finding("gateway-route-backends", "mandatory", route.urn,
                                            f"{where}: Service has no port {port} (ports: {sorted(service.ports)})"))
                elif route.kind == "GRPCRoute" and service.ports[port] not in GRPC_APP_PROTOCOLS:
                    findings.append(Finding(
                        "gateway-route-backends", "mandatory", route.urn,
                        f"{where}: port {port} has appProtocol {service.ports[port]!r}, not 'grpc'; Istio would "
                        "forward gRPC to it as HTTP/1.1",
                    ))
    return findings


def _redirects_to_https(rule: dict[str, Any]) -> bool:
    """The rule only redirects to HTTPS: a ``RequestRedirect`` with scheme https, and no backend to reach."""
    redirects = [f for f in rule.get("filters") or [] if f.get("type") == "RequestRedirect"]
    return not rule.get("backendRefs") and any((f.get("requestRedirect") or {}).get("scheme") == "https"
                                               for f in redirects)


def check_https_redirect(plan: Plan) -> list[Finding]:
    """With an HTTPS listener on a Gateway, its port 80 only redirects, and every HTTPS host is redirected.

    A route serving a backend on port 80 would let a client (or a downgrade) skip TLS; a host
    missing from the redirects would answer 404 on port 80 instead of sending the client to 443.
    """
    findings: list[Finding] = []
    gateways = {(_ns(g), g.k8s_name): g for g in _gateway_api(plan, "Gateway")}
    served: dict[tuple[str, str], set[str]] = {}
    redirected: dict[tuple[str, str], set[str]] = {}
    for route in _gateway_api(plan, "HTTPRoute"):
        spec = _spec(route)
        for ref in spec.get("parentRefs") or []:
            key = (str(ref.get("namespace") or _ns(route)), str(ref.get("name")))
            gateway = gateways.get(key)
            listeners = (_spec(gateway).get("listeners") or []) if gateway else []
            if not any(lst.get("protocol") == "HTTPS" for lst in listeners):
                continue
            attached = [lst for lst in listeners if ref.get("sectionName") in (None, lst.get("name"))
                        and ref.get("port") in (None, lst.get("port"))]
            hosts = set(spec.get("hostnames") or [])
            if any(lst.get("protocol") == "HTTPS" for lst in attached):
                served.setdefault(key, set()).update(hosts)
            if not any(lst.get("protocol") == "HTTP" and lst.get("port") == 80 for lst in attached):
                continue
            rules = spec.get("rules") or []
            if not all(_redirects_to_https(rule) for rule in rules):
                findings.append(Finding(
                    "gateway-https-redirect", "mandatory", route.urn,
                    f"HTTPRoute {_ns(route)}/{route.k8s_name} answers on port 80 of Gateway {key[0]}/{key[1]}, "
                    "which terminates HTTPS, with more than a redirect: port 80 must only redirect to https "
                    "(a RequestRedirect filter with scheme https and no backendRefs)",
                ))
            elif rules:
                redirected.setdefault(key, set()).update(hosts)
    for key, hosts in sorted(served.items()):
        for host in sorted(hosts - redirected.get(key, set())):
            findings.append(Finding(
                "gateway-https-redirect", "mandatory", gateways[key].urn,
                f"{host} is served over HTTPS by Gateway {key[0]}/{key[1]} but port 80 does not redirect it",
            ))
    return findings


def _is_gateway_api_bundle(resource: Resource) -> bool:
    sources = json.dumps([resource.inputs.get("file"), resource.inputs.get("files")])
    named = "gateway-api" in sources or resource.name.endswith("gateway-api-crds")
    return resource.type in CRD_BUNDLE_TYPES and named


def check_gateway_api_crds_first(plan: Plan) -> list[Finding]:
    """istiod, and every Gateway API object, wait (transitively) for the Gateway API CRD bundle."""
    bundles = [r for r in plan.resources if _is_gateway_api_bundle(r)]
    dependants = [c for c in plan.charts() if chart_name(c) == "istiod"]
    dependants += _gateway_api(plan, "Gateway", "ReferenceGrant", *ROUTE_KINDS)
    findings = []
    for resource in dependants:
        if not any(plan.depends_on(resource.urn, bundle.urn) for bundle in bundles):
            what = "istiod" if resource.type.startswith("kubernetes:helm.sh") else resource.kind
            findings.append(Finding(
                "gateway-api-crds-first", "mandatory", resource.urn,
                f"{what} {resource.name} does not depend on the Gateway API CRD bundle"
                + ("" if bundles else " (the plan installs none)")
                + ": it could be applied before the CRDs exist",
            ))
    return findings


def check_cert_manager_first(plan: Plan) -> list[Finding]:
    """cert-manager objects (the HTTPS listener's Certificate and issuer) wait for the cert-manager chart."""
    managers = [c for c in plan.charts() if chart_name(c) == "cert-manager"]
    findings = []
    for resource in plan.resources:
        if not (resource.is_kubernetes_object and resource.api_version.startswith("cert-manager.io/")):
            continue
        if not any(plan.depends_on(resource.urn, chart.urn) for chart in managers):
            findings.append(Finding(
                "gateway-cert-manager-first", "mandatory", resource.urn,
                f"{resource.kind} {resource.k8s_name} needs the cert-manager CRDs, but "
                + ("it does not depend on the cert-manager chart" if managers else "the plan installs no cert-manager")
                + " (gateway.https.enabled; cert-manager comes with langfuse.enabled)",
            ))
    return findings


CHECKS = [
    check_route_parents,
    check_route_backends,
    check_https_redirect,
    check_gateway_api_crds_first,
    check_cert_manager_first,
]
