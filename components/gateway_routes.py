"""GatewayRoutes: the one Gateway and the routes behind it, the only way into the platform.

Everything north-south is Gateway API (no Ingress, no VirtualService): one ``Gateway`` of class
``istio`` in Istio's namespace, and all routes next to it, so each listener admits routes from
its own namespace only. Backends live in the components' namespaces; each of those gets one
``ReferenceGrant`` naming exactly the route kinds, the route namespace and the Services used.

With ``gateway.https.enabled`` the host routes attach to the HTTPS listener only, and port 80
carries one route that redirects every host to HTTPS (301): nothing is served in clear text
there. The AuthorizationPolicies match hosts, so the same guards hold on 443.

Streaming (SSE) and Envoy. Istio programs an HTTPRoute's ``timeouts.request`` as the Envoy route
timeout, which bounds the *whole* exchange, last streamed token included; ``0s`` disables it
(Gateway API semantics, honoured by Istio), so a long completion is never cut at a fixed wall
clock. Envoy proxies response bodies as they arrive (no buffering filter is configured), and its
stream idle timeout (5 min by default) only fires when no byte flows, which a token stream
avoids. Hence the LLM routes (``litellm``, ``llm``) carry ``gateway.llmRequestTimeout``, ``0s``
by default.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml
from pydantic import BaseModel, ConfigDict

from components._k8s import TOKEN_PREFIX, labels
from components.contracts import EngineEndpoint, ServiceRef, otel_sdk_environment
from config.sections import Gateway

GATEWAY_API = "gateway.networking.k8s.io"
GATEWAY_NAME = "main-gateway"
"""The runbook's Gateway name. Istio names the Deployment and Service it creates ``<name>-<class>``."""
GATEWAY_CLASS = "istio"
GATEWAY_SERVICE = f"{GATEWAY_NAME}-{GATEWAY_CLASS}"
"""``main-gateway-istio``, as in the runbook's commands."""
TLS_SECRET = "platform-gateway-tls"
HTTPS_PORT = 443
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
"""The Gateway's OTLP listeners: what an app outside the cluster sends to (the runbook's <address>:4317)."""
ADMIN_UIS = ("grafana", "prometheus", "tempo")
"""Hosts the optional source-address restriction applies to."""
ACME_DIRECTORIES = {
    "staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
    "production": "https://acme-v02.api.letsencrypt.org/directory",
}
"""Let's Encrypt's two ACME directories: one ClusterIssuer each, ``https.acmeEnvironment`` picks the one used."""
REDIRECT_TO_HTTPS = {"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}
"""Port 80's only answer with HTTPS on (Gateway API core filter; no port: the scheme's own, 443)."""


@dataclass(frozen=True)
class Backends:
    """The Services routes point at, taken from the other components' outputs."""

    grafana: ServiceRef
    prometheus: ServiceRef
    tempo: ServiceRef
    otlp_grpc: ServiceRef
    otlp_http: ServiceRef
    engines: list[EngineEndpoint]
    langfuse: ServiceRef | None
    litellm: ServiceRef | None


class GatewayRoutesArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    settings: Gateway
    namespace: str
    """The Gateway's namespace (``namespaces.istio``): Istio's gateway controller lives there."""
    primary_engine: str
    """The engine ``llm.<domain>`` routes to without a canary (``engine``)."""
    backends: Backends


class _WithStatus(k8s.apiextensions.CustomResource):
    """A custom resource whose ``status`` is read back, as CRD-generated classes do."""

    status: pulumi.Output[Any]

    def _internal_init(  # type: ignore[override]
        self, resource_name: str, api_version: str, kind: str, opts: pulumi.ResourceOptions | None = None,
        metadata: Any = None, spec: Any = None, __props__: Any = None,
    ) -> None:
        props = k8s.apiextensions.CustomResourceArgs.__new__(k8s.apiextensions.CustomResourceArgs)
        props.__dict__.update(api_version=api_version, kind=kind, metadata=metadata, spec=spec, status=None)
        pulumi.CustomResource.__init__(
            self, f"kubernetes:{api_version}:{kind}", resource_name, props, opts  # type: ignore[arg-type]
        )


def _backend_ref(ref: ServiceRef, weight: int | None = None) -> dict[str, Any]:
    backend: dict[str, Any] = {"group": "", "kind": "Service", "name": ref.name, "namespace": ref.namespace,
                               "port": ref.port}
    if weight is not None:
        backend["weight"] = weight
    return backend


def _retry(gateway: Gateway) -> dict[str, Any]:
    """The rule's ``retry`` stanza (Gateway API experimental, GEP-1731), none with ``attempts: 0``."""
    retry = gateway.retry
    if retry.attempts == 0:
        return {}
    return {"retry": {"attempts": retry.attempts, "backoff": retry.backoff, "codes": list(retry.codes)}}

def _services(backend: ServiceRef | list[dict[str, Any]], engines: list[EngineEndpoint]) -> list[ServiceRef]:
    """The ServiceRefs behind a route's backend (the engines a canary split names)."""
    if isinstance(backend, ServiceRef):
        return [backend]
    names = {(ref["namespace"], ref["name"]) for ref in backend}
    return [e.service for e in engines if (e.service.namespace, e.service.name) in names]


def engine_backends(gateway: Gateway, primary: str, engines: list[EngineEndpoint]) -> list[dict[str, Any]]:
    """backendRefs of ``llm.<domain>``: the primary engine, or the weighted canary split."""
    by_engine = {e.engine: e.service for e in engines}
    canary = gateway.canary
    if canary is None:
        return [_backend_ref(by_engine.get(primary, engines[0].service))]
    missing = [e for e in (canary.primary, canary.canary) if e not in by_engine]
    if missing:
        raise ValueError(f"gateway.canary names engine(s) {missing} that serving did not deploy")
    return [
        _backend_ref(by_engine[canary.primary], 100 - canary.percent),
        _backend_ref(by_engine[canary.canary], canary.percent),
    ]


def gateway_options(gateway: Gateway) -> dict[str, str]:
    """Overlays Istio applies to the Gateway's generated Service and Deployment (parametersRef).

    Service type LoadBalancer: on k3s, ServiceLB answers on the node's IP. With the admin
    restriction on, ``externalTrafficPolicy: Local`` keeps the client's source address (no SNAT
    to the node), which the AuthorizationPolicy matches.
    """
    service: dict[str, Any] = {"type": "LoadBalancer"}
    if gateway.restrict_admin_uis:
        service["externalTrafficPolicy"] = "Local"
    deployment = {"spec": {"template": {"spec": {"containers": [
        {"name": "istio-proxy", "resources": gateway.proxy_resources.as_k8s()}
    ]}}}}
    return {"service": yaml.safe_dump({"spec": service}), "deployment": yaml.safe_dump(deployment)}


class GatewayRoutes(pulumi.ComponentResource):
    hostnames: list[str]
    """Hostnames the Gateway serves (UI and API routes), one per enabled backend."""
    etc_hosts_line: pulumi.Output[str]
    """``<gateway address> <hostnames...>``: the line a user adds to ``/etc/hosts``."""
    address: pulumi.Output[str]
    """The Gateway's address, from its status once Istio has programmed it."""
    otlp_grpc_url: pulumi.Output[str]
    """``http://<address>:4317``: OTLP/gRPC through the Gateway, for apps outside the cluster."""
    otlp_http_url: pulumi.Output[str]
    """``http://<address>:4318``: OTLP/HTTP through the Gateway (exporters append ``/v1/traces``)."""
    listener_ports: tuple[int, ...]
    """Ports of the Gateway's listeners (what clients outside the cluster may reach)."""
    https_port: int | None
    """The HTTPS listener's port (``gateway.https.enabled``), None without one: then port 80 serves the routes."""
    routed: tuple[ServiceRef, ...]
    """Every Service a route points at (the gateway's outgoing connections)."""

    def __init__(self, name: str, args: GatewayRoutesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TOKEN_PREFIX}:gateway_routes:GatewayRoutes", name, None, opts)
        gw, backends = args.settings, args.backends
        self._name = name
        self._namespace = args.namespace
        self._grants: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        domain = gw.base_domain
        https = gw.https.enabled

        web: dict[str, tuple[ServiceRef | list[dict[str, Any]], bool]] = {
            "grafana": (backends.grafana, False),
            "prometheus": (backends.prometheus, False),
            "tempo": (backends.tempo, False),
        }
        if backends.langfuse is not None:
            web["langfuse"] = (backends.langfuse, False)
        if backends.litellm is not None:
            web["litellm"] = (backends.litellm, True)
        if backends.engines and gw.direct_engine_route.enabled:
            web["llm"] = (engine_backends(gw, args.primary_engine, backends.engines), True)
        self.hostnames = [f"{host}.{domain}" for host in web]

        options = k8s.core.v1.ConfigMap(
            f"{name}-options",
            metadata={"name": f"{GATEWAY_NAME}-options", "namespace": self._namespace,
                      "labels": labels("gateway", "ingress")},
            data=gateway_options(gw),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # The HTTPS listener needs its certificate's Secret: issue it first.
        certificate = [self._certificate(name, gw)] if https else []
        gateway = _WithStatus(
            f"{name}-gateway",
            api_version=f"{GATEWAY_API}/v1",
            kind="Gateway",
            metadata={
                "name": GATEWAY_NAME,
                "namespace": self._namespace,
                "labels": labels("gateway", "ingress"),
                # `pulumi up` waits until Istio has deployed the gateway and it has an address. No empty
                # map otherwise: the API server drops it and every later preview would show a diff.
                **({"annotations": {"pulumi.com/waitFor": "condition=Programmed"}} if gw.await_programmed
                   else {}),
            },
            spec=(spec := self._gateway_spec(gw, options.metadata.name)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=certificate),
        )
        self.listener_ports = tuple(int(listener["port"]) for listener in spec["listeners"])
        self.https_port = HTTPS_PORT if https else None
        self.routed = (backends.otlp_http, backends.otlp_grpc)

        routes: list[pulumi.Resource] = []
        for host, (backend, streaming) in web.items():
            refs = backend if isinstance(backend, list) else [_backend_ref(backend)]
            self.routed += tuple(ref for ref in _services(backend, backends.engines))
            rule: dict[str, Any] = {"backendRefs": refs, **_retry(gw)}
            if streaming:
                rule["timeouts"] = {"request": gw.llm_request_timeout}
            routes.append(self._route("HTTPRoute", host, [f"{host}.{domain}"], ["https" if https else "http"],
                                      [rule], gateway))
        if https:
            # OTLP keeps its own plain listeners (4317/4318): SDKs send there, never to port 80.
            routes.append(self._route("HTTPRoute", "https-redirect", self.hostnames, ["http"],
                                      [{"filters": [REDIRECT_TO_HTTPS]}], gateway))
        routes.append(self._route("HTTPRoute", "otlp-http", [], ["otlp-http"],
                                  [{"backendRefs": [_backend_ref(backends.otlp_http)], **_retry(gw)}], gateway))
        routes.append(self._route("GRPCRoute", "otlp-grpc", [], ["otlp-grpc"],
                                  [{"backendRefs": [_backend_ref(backends.otlp_grpc)]}], gateway))
        self._reference_grants(name)
        if gw.restrict_admin_uis:
            self._admin_restriction(name, gw, gateway)
        self._ingress_guards(name, gw, gateway, direct_engines="llm" in web)

        self.address = gateway.status.apply(
            lambda status: str(((status or {}).get("addresses") or [{}])[0].get("value", ""))
        )
        self.otlp_grpc_url = self.address.apply(lambda address: f"http://{address}:{OTLP_GRPC_PORT}")
        self.otlp_http_url = self.address.apply(lambda address: f"http://{address}:{OTLP_HTTP_PORT}")
        hostnames = " ".join(self.hostnames)
        self.etc_hosts_line = self.address.apply(lambda address: f"{address} {hostnames}")
        self.register_outputs({"hostnames": self.hostnames, "address": self.address,
                               "etcHostsLine": self.etc_hosts_line, "otlpGrpcUrl": self.otlp_grpc_url,
                               "otlpHttpUrl": self.otlp_http_url})

    def host_otel_environment(self, service_name: str) -> pulumi.Output[dict[str, str]]:
        """SDK environment for an app outside the cluster (the workstation): OTLP/gRPC to the Gateway."""
        return self.otlp_grpc_url.apply(lambda url: otel_sdk_environment(url, service_name))

    def _gateway_spec(self, gw: Gateway, options: pulumi.Input[str]) -> dict[str, Any]:
        def listener(name: str, port: int, kind: str, hostname: str | None = None,
                     protocol: str = "HTTP") -> dict[str, Any]:
            entry: dict[str, Any] = {
                "name": name, "port": port, "protocol": protocol,
                "allowedRoutes": {"namespaces": {"from": "Same"}, "kinds": [{"group": GATEWAY_API, "kind": kind}]},
            }
            if hostname:
                entry["hostname"] = hostname
            return entry

        wildcard = f"*.{gw.base_domain}"
        listeners = [listener("http", 80, "HTTPRoute", wildcard)]
        if gw.https.enabled:
            https = listener("https", HTTPS_PORT, "HTTPRoute", wildcard, protocol="HTTPS")
            https["tls"] = {"mode": "Terminate", "certificateRefs": [{"group": "", "kind": "Secret",
                                                                      "name": TLS_SECRET}]}
            listeners.append(https)
        # OTLP listeners take any host name: SDKs are pointed at <address>:4317/4318.
        listeners += [listener("otlp-grpc", OTLP_GRPC_PORT, "GRPCRoute"),
                      listener("otlp-http", OTLP_HTTP_PORT, "HTTPRoute")]
        return {
            "gatewayClassName": GATEWAY_CLASS,
            "listeners": listeners,
            "infrastructure": {"parametersRef": {"group": "", "kind": "ConfigMap", "name": options}},
        }

    def _route(self, kind: str, host: str, hostnames: list[str], sections: list[str],
               rules: list[dict[str, Any]], gateway: pulumi.Resource) -> pulumi.Resource:
        for rule in rules:
            for ref in rule.get("backendRefs", []):
                if ref["namespace"] != self._namespace:
                    self._grants[ref["namespace"]][kind].add(ref["name"])
        spec: dict[str, Any] = {
            "parentRefs": [{"group": GATEWAY_API, "kind": "Gateway", "name": GATEWAY_NAME, "sectionName": s}
                           for s in sections],
            "rules": rules,
        }
        if hostnames:
            spec["hostnames"] = hostnames
        return k8s.apiextensions.CustomResource(
            f"{self._name}-{host}",
            api_version=f"{GATEWAY_API}/v1",
            kind=kind,
            metadata={"name": host, "namespace": self._namespace, "labels": labels("gateway", "route")},
            spec=spec,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]),
        )

    def _reference_grants(self, name: str) -> None:
        """One grant per backend namespace: these route kinds, from the Gateway's namespace, to these Services."""
        for namespace, kinds in sorted(self._grants.items()):
            services = sorted(set().union(*kinds.values()))
            k8s.apiextensions.CustomResource(
                f"{name}-grant-{namespace}",
                api_version=f"{GATEWAY_API}/v1beta1",
                kind="ReferenceGrant",
                metadata={"name": "gateway-routes", "namespace": namespace, "labels": labels("gateway", "grant")},
                spec={
                    "from": [
                        {"group": GATEWAY_API, "kind": kind, "namespace": self._namespace} for kind in sorted(kinds)
                    ],
                    "to": [{"group": "", "kind": "Service", "name": service} for service in services],
                },
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _admin_restriction(self, name: str, gw: Gateway, gateway: pulumi.Resource) -> None:
        """Deny the admin UIs to clients outside ``gateway.adminAllowedCidrs``.

        ``notRemoteIpBlocks``, not ``notIpBlocks``: ``ipBlocks`` match the TCP peer, which is a
        load balancer or proxy hop whenever one sits in front; ``remoteIpBlocks`` match the
        original client as Envoy determines it (the peer, or X-Forwarded-For/PROXY protocol when
        the gateway is told to trust a proxy), which is what "source CIDR" means here. A DENY
        policy (rather than ALLOW) leaves every other host and the OTLP listeners untouched.
        """
        domain = gw.base_domain
        hosts = [h for ui in ADMIN_UIS for h in (f"{ui}.{domain}", f"{ui}.{domain}:*")]
        k8s.apiextensions.CustomResource(
            f"{name}-admin-uis",
            api_version="security.istio.io/v1",
            kind="AuthorizationPolicy",
            metadata={"name": "admin-uis-source-ranges", "namespace": self._namespace},
            spec={
                "targetRefs": [{"group": GATEWAY_API, "kind": "Gateway", "name": GATEWAY_NAME}],
                "action": "DENY",
                "rules": [{
                    "from": [{"source": {"notRemoteIpBlocks": list(gw.admin_allowed_cidrs)}}],
                    "to": [{"operation": {"hosts": hosts}}],
                }],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]),
        )

    def _ingress_guards(self, name: str, gw: Gateway, gateway: pulumi.Resource, *, direct_engines: bool) -> None:
        """DENY rules on the Gateway for the ways in that have no login of their own.

        Prometheus' remote-write receiver (``/api/v1/write``, on for Tempo's metrics-generator,
        which writes in-cluster) is never reachable through the gateway; OTLP is open only to
        ``gateway.otlpAllowedCidrs``; ``llm.<domain>``, when enabled, only to
        ``gateway.directEngineRoute.allowedCidrs``. Same ``notRemoteIpBlocks`` reasoning as the admin UIs.
        """
        domain = gw.base_domain
        rules: list[dict[str, Any]] = [{
            "to": [{"operation": {"hosts": [f"prometheus.{domain}", f"prometheus.{domain}:*"],
                                  "paths": ["/api/v1/write", "/api/v1/otlp/*"]}}],
        }]
        if "0.0.0.0/0" not in gw.otlp_allowed_cidrs:
            rules.append({"from": [{"source": {"notRemoteIpBlocks": list(gw.otlp_allowed_cidrs)}}],
                          "to": [{"operation": {"ports": [str(OTLP_GRPC_PORT), str(OTLP_HTTP_PORT)]}}]})
        if direct_engines:
            rules.append({
                "from": [{"source": {"notRemoteIpBlocks": list(gw.direct_engine_route.allowed_cidrs)}}],
                "to": [{"operation": {"hosts": [f"llm.{domain}", f"llm.{domain}:*"]}}],
            })
        k8s.apiextensions.CustomResource(
            f"{name}-ingress-guards",
            api_version="security.istio.io/v1",
            kind="AuthorizationPolicy",
            metadata={"name": "ingress-guards", "namespace": self._namespace},
            spec={
                "targetRefs": [{"group": GATEWAY_API, "kind": "Gateway", "name": GATEWAY_NAME}],
                "action": "DENY",
                "rules": rules,
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]),
        )

    def _certificate(self, name: str, gw: Gateway) -> pulumi.Resource:
        """TLS for the HTTPS listener from cert-manager (which must be installed on the cluster).

        Self-signed by default. With ``https.acmeEmail``, a ClusterIssuer per Let's Encrypt directory
        (HTTP-01 through this Gateway's port 80: cert-manager's solver route matches the exact
        challenge path, which wins over the redirect's ``/`` prefix); the certificate names the one
        ``https.acmeEnvironment`` selects, so going to production is a one-key change.
        """
        https = gw.https
        issuers: list[pulumi.Resource] = []
        if https.acme_email:
            for environment, server in ACME_DIRECTORIES.items():
                issuers.append(self._cluster_issuer(f"{name}-issuer-{environment}", f"platform-acme-{environment}",
                                                    {"acme": self._acme(https.acme_email, server, environment)}))
            issuer_name = f"platform-acme-{https.acme_environment}"
        else:
            issuers.append(self._cluster_issuer(f"{name}-issuer", "platform-selfsigned", {"selfSigned": {}}))
            issuer_name = "platform-selfsigned"
        return k8s.apiextensions.CustomResource(
            f"{name}-certificate",
            api_version="cert-manager.io/v1",
            kind="Certificate",
            metadata={"name": "platform-gateway", "namespace": self._namespace},
            spec={
                "secretName": TLS_SECRET,
                "dnsNames": self.hostnames,
                "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": issuer_name},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=issuers),
        )

    def _acme(self, email: str, server: str, environment: str) -> dict[str, Any]:
        """An ACME account on ``server`` (its key in a Secret of its own), HTTP-01 on this Gateway's port 80."""
        return {
            "email": email,
            "server": server,
            "privateKeySecretRef": {"name": f"platform-acme-{environment}-account"},
            "solvers": [{"http01": {"gatewayHTTPRoute": {"parentRefs": [
                {"name": GATEWAY_NAME, "namespace": self._namespace, "kind": "Gateway", "sectionName": "http"}
            ]}}}],
        }

    def _cluster_issuer(self, resource_name: str, name: str, spec: dict[str, Any]) -> pulumi.Resource:
        return k8s.apiextensions.CustomResource(
            resource_name,
            api_version="cert-manager.io/v1",
            kind="ClusterIssuer",
            metadata={"name": name},
            spec=spec,
            opts=pulumi.ResourceOptions(parent=self),
        )
