"""The platform's connection list: who calls which pods on which port, from the components' outputs.

``platform_edges`` turns the wiring ``__main__`` already holds (the ServiceRefs each component
exposes and hands its peers) into ``Edge`` values; ``NetworkPolicies`` renders one allow per edge
and the offline check ``network-edges`` proves the rendered policies allow exactly these.

Granularity is the namespace: an allow admits every pod of the source namespace to every pod of
the target namespace on the edge's ports (Services select pods by chart-owned labels the program
does not pin). Edges with no ports allow every port; they are kept for chart-internal peers whose
ports the charts own (kube-prometheus-stack's operator and exporters, Langfuse's Postgres,
ClickHouse, Redis and S3, Istio's gateway and istiod, cert-manager's webhook and cainjector).
``ANYWHERE`` ends are addresses the program cannot know: clients outside the cluster, the API
server (webhook calls in, watches out) and the nodes (kubelet, hostNetwork exporters).

Each edge also says whether it can be mTLS (``components.mtls`` derives the PeerAuthentications
from that): a client without a sidecar is ``plaintext_client`` (with the reason), a server without
one ``plaintext_server``. What runs without a sidecar in the injected namespaces is the components'
choice, restated here with where it is made: Prometheus, its operator and exporters
(``monitoring_stack.chart_values``), the collector and Tempo (``tracing_pipeline``), Alloy
(``logging_stack``). Chart-internal peers are plain text unless every pod is known to have a sidecar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from components.contracts import (
    ANYWHERE,
    Edge,
    EngineEndpoint,
    LoggingEndpoints,
    MonitoringEndpoints,
    ServiceRef,
    TracingEndpoints,
)

DNS_NAMESPACE = "kube-system"
"""CoreDNS (k3s, kubeadm): every pod resolves Service names through it."""
DNS_PORT = 53
API_SERVER_PORTS = (443, 6443)
"""The ``kubernetes`` Service port and the API server's own (policies may see either, before or after DNAT)."""
ISTIOD_XDS_PORT = 15012
"""Sidecars and gateways fetch configuration and certificates from istiod here."""
ISTIOD_WEBHOOK_PORT = 15017
"""The API server calls istiod's injection and validation webhooks here."""
ENVOY_METRICS_PORTS = (15020, 15090)
"""Merged and Envoy metrics of every sidecar and gateway (Prometheus' kubernetes-pods scrapes)."""
NODE_PORTS = (9100, 10250)
"""node-exporter (hostNetwork) and the kubelet (cAdvisor): node addresses, so ``ANYWHERE``."""
OPERATOR_WEBHOOK_PORTS = {"monitoring": (10250,), "cert-manager": (10250,), "clickhouse-operator": (9443,)}
"""Admission webhooks the API server calls: prometheus-operator, cert-manager, the ClickHouse operator."""
HTTPS_OUT = (443,)
KEDA_API_PORTS = (6443, 9443)
"""KEDA's metrics API server (the external metrics APIService) and its admission webhook."""

PROMETHEUS = "Prometheus runs without a sidecar, to scrape pod addresses across the mesh"
COLLECTOR = "the collector runs without a sidecar, so that k8s_attributes sees the sender's address"
TEMPO = "Tempo runs without a sidecar, out of the mesh like the collector, its only writer"
ENVOY_PORTS = "the sidecar's own metrics ports, which it never redirects through its mTLS listener"
OUTSIDE = "the API server, a node or a client outside the cluster: no sidecar"
INTERNAL_PLAINTEXT = {
    "monitoring": "Prometheus, its operator, kube-state-metrics and node-exporter run without sidecars",
    "tracing": "the collector and Tempo run without sidecars",
    "logging": "Alloy (a node DaemonSet) runs without a sidecar",
}
"""Why chart-internal peers of a namespace include clients without a sidecar (others: not known to have one)."""


@dataclass(frozen=True)
class Wiring:
    """What ``__main__`` wired, as the components expose it (names are the namespaces' names)."""

    istio: str
    tracing: TracingEndpoints
    collector_metrics: ServiceRef
    monitoring: MonitoringEndpoints
    gateway_ports: tuple[int, ...]
    routed: tuple[ServiceRef, ...]
    """Every Service a Gateway route points at."""
    engines: tuple[EngineEndpoint, ...]
    injected: tuple[str, ...]
    """Namespaces whose pods carry sidecars (they reach istiod and send mesh spans)."""
    namespaces: tuple[str, ...]
    """Every platform namespace (each gets DNS)."""
    logging: LoggingEndpoints | None = None
    langfuse: ServiceRef | None = None
    litellm: ServiceRef | None = None
    dcgm: ServiceRef | None = None
    cert_manager: str | None = None
    clickhouse_operator: str | None = None
    keda: str | None = None
    """KEDA's namespace: its operator reads Prometheus for the ScaledObjects' triggers."""
    model_downloads: bool = False
    """GPU engines pull weights from Hugging Face over HTTPS."""
    alertmanager_webhook: bool = False


def _ns(ref: ServiceRef) -> str:
    return ref.namespace


def platform_edges(w: Wiring) -> list[Edge]:
    """Every edge of the platform, in a stable order (names are unique DNS labels), mTLS ends marked."""
    return [_plaintext_ends(edge, w) for edge in _edges(w)]


def _plaintext_ends(edge: Edge, w: Wiring) -> Edge:
    """Mark the clients no sidecar sits in front of: outside the mesh, or in a namespace without injection."""
    if edge.plaintext_client:
        return edge
    if edge.source == ANYWHERE:
        return replace(edge, plaintext_client=OUTSIDE)
    if edge.source not in {*w.injected, w.istio}:
        return replace(edge, plaintext_client=f"namespace {edge.source} has no sidecar injection")
    return edge


def _edges(w: Wiring) -> list[Edge]:
    edges: list[Edge] = []
    add = edges.append
    monitoring, tracing = w.monitoring.prometheus.namespace, w.tracing.otlp_grpc.namespace
    sidecarless = {  # servers without a sidecar: PeerAuthentication has nothing to enforce on them
        **{ref: COLLECTOR for ref in (w.tracing.otlp_grpc, w.tracing.otlp_http, w.tracing.mesh_spans,
                                       w.collector_metrics)},
        w.tracing.tempo_http: TEMPO, w.tracing.tempo_otlp_grpc: TEMPO, w.monitoring.prometheus: PROMETHEUS,
    }
    pods = {e.service: e.pods for e in w.engines}

    def to(name: str, source: str, ref: ServiceRef, why: str, client: str = "") -> Edge:
        """``source`` calls the Service ``ref`` (``client``: why that client has no sidecar, if it has none)."""
        return Edge.to_service(name, source, ref, why, plaintext_client=client,
                               plaintext_server=sidecarless.get(ref, ""), server_pods=pods.get(ref, ()))

    llm_ns = sorted({e.service.namespace for e in w.engines})

    # Every pod resolves names; charts with operators, watchers and webhooks talk to the API server.
    for ns in w.namespaces:
        add(Edge(f"dns-{ns}", ns, DNS_NAMESPACE, (DNS_PORT,), "name resolution", protocol="UDP"))
        add(Edge(f"dns-tcp-{ns}", ns, DNS_NAMESPACE, (DNS_PORT,), "name resolution (large answers)"))
    api_clients = {
        w.istio: "istiod watches the cluster; the gateway's controller",
        monitoring: "prometheus-operator, kube-state-metrics, Grafana's dashboard sidecar, service discovery",
        tracing: "the collector's k8s_attributes processor",
        **({w.logging.loki.namespace: "Alloy discovers pods and tails their logs"} if w.logging else {}),
        **({w.cert_manager: "cert-manager controller, cainjector, webhook"} if w.cert_manager else {}),
        **({w.clickhouse_operator: "the ClickHouse operator"} if w.clickhouse_operator else {}),
        **({w.keda: "KEDA's operator scales workloads and serves the external metrics API"} if w.keda else {}),
    }
    for ns, why in api_clients.items():
        add(Edge(f"api-server-{ns}", ns, ANYWHERE, API_SERVER_PORTS, f"API server: {why}"))
    for ns, ports in OPERATOR_WEBHOOK_PORTS.items():
        target = {"monitoring": monitoring, "cert-manager": w.cert_manager,
                  "clickhouse-operator": w.clickhouse_operator}[ns]
        if target:
            add(Edge(f"webhook-{target}", ANYWHERE, target, ports, "the API server calls the admission webhook",
                     plaintext_server=("prometheus-operator runs without a sidecar" if target == monitoring else "")))

    # Chart-internal peers (operators, databases, exporters) talk inside their namespace on ports the
    # charts own: every port, within the namespace only.
    internal = [w.istio, monitoring, tracing]
    internal += [w.logging.loki.namespace] if w.logging else []
    internal += [w.langfuse.namespace] if w.langfuse else []
    internal += [ns for ns in (w.cert_manager, w.clickhouse_operator, w.keda) if ns]
    for ns in internal:
        client = INTERNAL_PLAINTEXT.get(ns, "chart-internal pods (operators, databases, jobs) may run without one")
        add(Edge(f"internal-{ns}", ns, ns, (), "chart-internal peers (ports owned by the charts)",
                 plaintext_client=client, plaintext_server=client if ns == tracing else ""))
    if w.clickhouse_operator and w.langfuse:
        add(Edge("clickhouse-operator-to-langfuse", w.clickhouse_operator, w.langfuse.namespace, (),
                 "the operator manages ClickHouse and Keeper pods (ports owned by the chart)"))

    # The mesh: clients reach the gateway; sidecars and the gateway reach istiod and the collector.
    add(Edge("clients-to-gateway", ANYWHERE, w.istio, w.gateway_ports, "the Gateway's listeners"))
    add(Edge("webhook-istiod", ANYWHERE, w.istio, (ISTIOD_WEBHOOK_PORT,), "the API server calls istiod's webhooks"))
    for ns in w.injected:
        add(Edge(f"sidecars-{ns}-to-istiod", ns, w.istio, (ISTIOD_XDS_PORT,), "sidecar configuration, certificates"))
    # With OTLP auth their spans go to the collector's receiver without a token (the proxies cannot send one).
    for ns in sorted({*w.injected, w.istio}):
        add(to(f"mesh-spans-{ns}", ns, w.tracing.mesh_spans, "sidecars and gateways export spans"))
    for ref in sorted(set(w.routed), key=lambda r: (r.namespace, r.name, r.port)):
        # named by what it reaches, not by position: another route must not rename (replace) this policy
        name = f"gateway-{ref.namespace}-{ref.name}-{ref.port}"[:63]
        add(to(name, w.istio, ref, "a Gateway route backend"))

    # Traces and LLM spans.
    for ns in sorted({*llm_ns, *([w.litellm.namespace] if w.litellm else [])}):
        add(to(f"otlp-{ns}", ns, w.tracing.otlp_grpc, "OTel SDK spans (gRPC)"))
        add(to(f"otlp-http-{ns}", ns, w.tracing.otlp_http, "OTel SDK spans (HTTP)"))
    add(to("collector-to-tempo", tracing, w.tracing.tempo_otlp_grpc, "the collector's exporter", COLLECTOR))
    if w.langfuse:
        add(to("collector-to-langfuse", tracing, w.langfuse, "LLM spans to Langfuse's OTLP endpoint", COLLECTOR))
    add(to("tempo-remote-write", tracing, w.monitoring.prometheus,
           "Tempo's metrics-generator remote-writes span metrics", TEMPO))

    # Serving: LiteLLM in front of the engines, with its callback to Langfuse.
    if w.litellm:
        for engine in w.engines:
            add(to(f"litellm-to-{engine.engine}", w.litellm.namespace, engine.service, "LiteLLM's upstream"))
        if w.langfuse:
            add(to("litellm-to-langfuse", w.litellm.namespace, w.langfuse, "LiteLLM's Langfuse callback"))
    if w.model_downloads:
        for ns in llm_ns:
            add(Edge(f"model-download-{ns}", ns, ANYWHERE, HTTPS_OUT, "engines download weights (Hugging Face)"))

    # Observability: Grafana's datasources, Prometheus' scrapes, Alloy's pushes.
    add(to("grafana-to-tempo", monitoring, w.tracing.tempo_http, "Grafana's Tempo datasource"))
    scrapes = [w.collector_metrics, w.tracing.tempo_http, *(e.service for e in w.engines)]
    scrapes += [w.litellm] if w.litellm else []
    scrapes += [w.dcgm] if w.dcgm else []
    for ref in scrapes:
        add(to(f"scrape-{ref.namespace}-{ref.name}"[:63], monitoring, ref, "a ServiceMonitor", PROMETHEUS))
    for ns in sorted({*w.injected, w.istio} - {monitoring}):
        add(Edge(f"scrape-envoy-{ns}", monitoring, ns, ENVOY_METRICS_PORTS, "sidecar and gateway metrics",
                 plaintext_client=PROMETHEUS, plaintext_server=ENVOY_PORTS))
    add(Edge("scrape-nodes", monitoring, ANYWHERE, (*NODE_PORTS, *API_SERVER_PORTS),
             "node-exporter and kubelet (hostNetwork, node addresses) and the API server's metrics",
             plaintext_client=PROMETHEUS))
    add(Edge(f"scrape-dns-{monitoring}", monitoring, DNS_NAMESPACE, (9153,), "CoreDNS metrics",
             plaintext_client=PROMETHEUS))
    if w.logging:
        add(to("grafana-to-loki", monitoring, w.logging.loki, "Grafana's Loki datasource"))
    if w.alertmanager_webhook:
        add(Edge("alertmanager-receiver", monitoring, ANYWHERE, HTTPS_OUT, "Alertmanager's webhook receiver"))
    if w.keda:
        add(Edge("webhook-keda", ANYWHERE, w.keda, KEDA_API_PORTS,
                 "the API server calls KEDA's admission webhook and external metrics API"))
        add(to("keda-to-prometheus", w.keda, w.monitoring.prometheus, "KEDA's ScaledObject triggers query Prometheus"))
    if w.cert_manager:
        add(Edge("acme", w.cert_manager, ANYWHERE, (80, *HTTPS_OUT), "ACME directory and HTTP-01 self-check"))
    return edges


def namespaces_of(edges: Sequence[Edge]) -> set[str]:
    return {end for e in edges for end in (e.source, e.target) if end != ANYWHERE}
