"""The values components hand each other: where a peer answers, and what it must wait for.

Every link between two components is one of these types, built from the serving component's own
inputs, so a consumer never retypes a Service name and the wiring checks can follow each link back
to the Service it names. This module imports nothing of the project but ``pulumi``: every
component may depend on it, and it on none of them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import pulumi


@dataclass(frozen=True)
class ServiceRef:
    """A Kubernetes Service port that one component exposes and others connect to."""

    name: str
    namespace: str
    port: int
    app_protocol: str | None = None
    target_port: int | None = None
    """The pods' port behind ``port`` when it differs (NetworkPolicies match the pod's port)."""

    @property
    def pod_port(self) -> int:
        return self.target_port or self.port

    @property
    def host(self) -> str:
        return f"{self.name}.{self.namespace}.svc.cluster.local"

    def url(self, scheme: str = "http", path: str = "") -> str:
        return f"{scheme}://{self.host}:{self.port}{path}"

    @property
    def authority(self) -> str:
        """``host:port``, the form gRPC clients and Istio's extension providers take."""
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class NamespaceRef:
    """A platform namespace: its name (for Service hosts) and the Output that waits for it to exist."""

    name: str
    output: pulumi.Output[str]

    @staticmethod
    def existing(name: str) -> NamespaceRef:
        """A namespace this program does not create (tests, a component built alone)."""
        return NamespaceRef(name, pulumi.Output.from_input(name))


@dataclass(frozen=True)
class CrdReadiness:
    """Custom resources of ``group`` can be applied once ``resource`` (the chart with the CRDs) is."""

    group: str
    resource: pulumi.Resource


@dataclass(frozen=True)
class OtlpAuth:
    """The bearer token the collector's OTLP receivers ask for (``tracing.otlpAuth``); a secret Output."""

    token: pulumi.Output[str]

    def authorization(self) -> pulumi.Output[str]:
        """The ``Authorization`` header value, ``Bearer <token>`` (secret)."""
        return pulumi.Output.secret(self.token.apply(lambda t: f"Bearer {t}"))

    def sdk_headers(self) -> pulumi.Output[str]:
        """``OTEL_EXPORTER_OTLP_HEADERS`` carrying the token (secret), see ``sdk_headers``."""
        return pulumi.Output.secret(self.token.apply(sdk_headers))


OTLP_AUTH_HEADER = "authorization"
"""The header the collector's bearertokenauth extension reads (HTTP headers and gRPC metadata alike)."""


def sdk_headers(token: str) -> str:
    """``OTEL_EXPORTER_OTLP_HEADERS`` for ``token``: lower-case key (gRPC metadata keys must be), value
    URL-encoded as the OTLP exporter specification asks (the space as ``%20``)."""
    return f"{OTLP_AUTH_HEADER}=Bearer%20{token}"


@dataclass(frozen=True)
class TracingEndpoints:
    otlp_grpc: ServiceRef
    """The collector's OTLP/gRPC port: applications send here (with the token when ``auth`` is set)."""
    otlp_http: ServiceRef
    """The collector's OTLP/HTTP port (``/v1/traces``), for clients without gRPC."""
    tempo_http: ServiceRef
    """Tempo's HTTP API (query, search, metrics): Grafana's datasource and the tempo.<domain> route."""
    tempo_otlp_grpc: ServiceRef
    """Tempo's OTLP/gRPC receiver: the collector's exporter target (port name ``grpc-tempo-otlp``)."""
    mesh: ServiceRef | None = None
    """With OTLP auth: the collector's receiver without a token for Istio's proxies, which cannot send one
    (NetworkPolicies admit only the meshed namespaces to it). None: the proxies use ``otlp_grpc``."""
    auth: OtlpAuth | None = None
    """The token senders must present on ``otlp_grpc``/``otlp_http``; None when OTLP auth is off (or not
    known yet: the endpoints peers wire before the pipeline exists)."""

    @property
    def mesh_spans(self) -> ServiceRef:
        """Where Istio's sidecars and gateway export their spans."""
        return self.mesh or self.otlp_grpc


@dataclass(frozen=True)
class LoggingEndpoints:
    loki: ServiceRef
    """Loki's HTTP API: push (Alloy) and query (Grafana's datasource)."""


@dataclass(frozen=True)
class MonitoringEndpoints:
    prometheus: ServiceRef
    """Prometheus HTTP API, also the remote-write receiver (``/api/v1/write``)."""
    grafana: ServiceRef
    """Grafana UI (behind the Gateway)."""
    alertmanager: ServiceRef
    """Alertmanager API."""


@dataclass(frozen=True)
class LangfuseEndpoints:
    web: ServiceRef
    """Langfuse web: UI, public API, and OTLP ingestion under ``/api/public/otel``."""


@dataclass(frozen=True)
class LangfuseConnection:
    """What a client needs to send traces to Langfuse: the web Service and the project's API keys.

    Consumers put the keys into Secrets of their own namespace; both Outputs are secret.
    """

    web: ServiceRef
    public_key: pulumi.Output[str]
    secret_key: pulumi.Output[str]

    @property
    def otlp_traces_url(self) -> str:
        """Langfuse's OTLP/HTTP endpoint (base URL; exporters append ``/v1/traces``)."""
        return self.web.url(path="/api/public/otel")

    def otlp_auth_header(self) -> pulumi.Output[str]:
        """``Authorization`` header value for the OTLP endpoint: ``Basic base64(pk:sk)``, secret."""
        return pulumi.Output.secret(
            pulumi.Output.all(self.public_key, self.secret_key).apply(
                lambda keys: "Basic " + base64.b64encode(f"{keys[0]}:{keys[1]}".encode()).decode()
            )
        )


@dataclass(frozen=True)
class EngineEndpoint:
    """An OpenAI-compatible engine as LiteLLM and the gateway see it."""

    engine: str
    """``vllm``, ``sglang`` or ``mock``."""
    service: ServiceRef
    served_model_name: str
    model: str
    pods: tuple[tuple[str, str], ...] = ()
    """The labels its Service selects the engine's pods by (an mTLS port exception selects them too)."""


@dataclass(frozen=True)
class GpuRuntime:
    """What a GPU workload needs from the GPU component: the RuntimeClass, and what to wait for."""

    runtime_class_name: str
    device_plugin: pulumi.Resource
    """``nvidia.com/gpu`` is allocatable only once this runs."""
    node_selector: dict[str, str] = field(default_factory=dict)
    """GPU nodes (``gpu.nodeSelector`` and the dedicated pool's label); an engine adds its own keys."""
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    """The dedicated GPU pool's taint: every GPU workload tolerates it, and nothing else does."""


def otel_sdk_environment(endpoint: str, service_name: str, protocol: str = "grpc") -> dict[str, str]:
    """OpenTelemetry SDK environment for an app sending its spans to ``endpoint`` (traces only).

    One builder for both kinds of app (in the cluster: the collector's Service; on the host: the
    Gateway's address), so the two outputs differ only in where they point.
    """
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_INSECURE": "true",
        "OTEL_SERVICE_NAME": service_name,
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_PROPAGATORS": "tracecontext,baggage",
    }


def with_otlp_auth(
    environment: pulumi.Input[dict[str, str]], auth: OtlpAuth | None
) -> pulumi.Output[dict[str, str]]:
    """``environment`` plus ``OTEL_EXPORTER_OTLP_HEADERS`` carrying the token, as a secret; as is without auth."""
    if auth is None:
        return pulumi.Output.from_input(environment)
    both = pulumi.Output.all(environment, auth.sdk_headers())
    return pulumi.Output.secret(both.apply(lambda pair: {**pair[0], "OTEL_EXPORTER_OTLP_HEADERS": pair[1]}))


ANYWHERE = "*"
"""An edge end that is no platform namespace: clients outside the cluster, the API server, nodes."""


@dataclass(frozen=True)
class Edge:
    """One connection the platform needs: pods of ``source`` open connections to ``target`` on ``ports``.

    Namespaces are names; ``ANYWHERE`` stands for any address (the API server and nodes, whose
    addresses the program does not know, and clients outside the cluster). ``ports`` are the pods'
    ports (what a NetworkPolicy matches); empty means every port, kept for chart-internal peers.
    ``service_ports`` are the Service ports the wiring names, so the edge check can match both.

    mTLS: ``plaintext_client`` says why the client has no sidecar (so it cannot speak mTLS), empty
    when it has one; ``plaintext_server`` why the server has none (PeerAuthentication, which acts on
    the server's sidecar, then has nothing to enforce); ``server_pods`` the labels of the one workload
    the edge reaches, when known (a port-level exception can select it).
    """

    name: str
    source: str
    target: str
    ports: tuple[int, ...]
    why: str
    protocol: str = "TCP"
    service_ports: tuple[int, ...] = ()
    plaintext_client: str = ""
    plaintext_server: str = ""
    server_pods: tuple[tuple[str, str], ...] = ()

    @staticmethod
    def to_service(
        name: str, source: str, service: ServiceRef, why: str, *, plaintext_client: str = "",
        plaintext_server: str = "", server_pods: tuple[tuple[str, str], ...] = (),
    ) -> Edge:
        """``source`` calls ``service``: the pods behind it on their port."""
        return Edge(
            name, source, service.namespace, (service.pod_port,), why, service_ports=(service.port,),
            plaintext_client=plaintext_client, plaintext_server=plaintext_server, server_pods=server_pods,
        )

    @property
    def needs_plaintext(self) -> bool:
        """A client without a sidecar reaches a server with one: mTLS STRICT there would refuse it."""
        return bool(self.plaintext_client) and not self.plaintext_server

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name, "source": self.source, "target": self.target, "ports": list(self.ports),
            "protocol": self.protocol, "servicePorts": list(self.service_ports), "why": self.why,
            "plaintextClient": self.plaintext_client, "plaintextServer": self.plaintext_server,
            "serverPods": dict(self.server_pods),
        }
