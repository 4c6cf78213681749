"""One pydantic model per config section: what a stack can set, its defaults and single-value rules.

Stack files (``Pulumi.<stack>.yaml``) hold only what differs from these defaults, which serve
the CPU-only ``dev`` stack. Keys are camelCase, grouped in sections, and written as
``llm-tracing-infra:<section>`` objects; ``pulumi config set --path vllm.gpuMemoryUtilization 0.85``
sets one of them. Every model forbids unknown keys, so a typo is an error, not a silent default.
Rules that span sections live in ``rules.py``; reading the stack's values in ``loading.py``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

import versions
from config.capacity import Autoscaling, Cloud, GpuNodePool, Placement
from config.types import (
    Cidr,
    DnsLabel,
    DnsName,
    Duration,
    Engine,
    Image,
    MtlsMode,
    NamespaceKey,
    Quantity,
    Resources,
    Toleration,
    Version,
    _mebibytes,
    _Model,
    resources,
)

# ---------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------


_URL = re.compile(r"^(https?|oci)://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[^\s]*)?$")
_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")

MAX_CONTEXT = 1_048_576
"""Upper bound of maxModelLen for any model (the longest context windows today are about 1M tokens)."""
CONTEXT_WINDOWS: dict[str, int] = {
    "Qwen/Qwen2.5-3B-Instruct": 32768,  # model card: "Context Length: Full 32,768 tokens"
}
"""Context windows of the models this project pins or documents: maxModelLen must fit them."""


def _model_id(value: str) -> str:
    if not _MODEL_ID.match(value):
        raise ValueError("a Hugging Face model id 'org/name', e.g. Qwen/Qwen2.5-3B-Instruct (no spaces)")
    return value


def _display_name(value: str) -> str:
    if not value.strip() or value != value.strip() or len(value) > 100:
        raise ValueError("a non-empty name without leading or trailing spaces, at most 100 characters")
    return value


def _host(value: str) -> str:
    if value == "local" or _HOSTNAME.match(value):
        return value
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        raise ValueError("'local', a host name such as gpu-box.lan, or an IP address") from None
    return value


def _user(value: str) -> str:
    if not _USER.match(value):
        raise ValueError("a user name: lower-case letters, digits, '_' and '-', starting with a letter or '_'")
    return value


ModelId = Annotated[str, AfterValidator(_model_id)]


class Namespaces(_Model):
    """Namespace names. ``istio`` holds istiod and the Gateway; the others hold one concern each."""

    istio: DnsLabel = "istio-system"
    tracing: DnsLabel = "tracing"
    monitoring: DnsLabel = "monitoring"
    llm: DnsLabel = "llm"
    litellm: DnsLabel = "litellm"
    langfuse: DnsLabel = "langfuse"
    logging: DnsLabel = "logging"
    gpu: DnsLabel = "nvidia-gpu"

    def name(self, key: NamespaceKey) -> str:
        return str(getattr(self, key))

    @model_validator(mode="after")
    def _distinct(self) -> Namespaces:
        seen: dict[str, str] = {}
        for key, value in self:
            if value in seen:
                raise ValueError(
                    f"{seen[value]} and {to_camel(key)} are both {value!r}: every platform namespace needs a name "
                    f"of its own (their policies and retention differ)"
                )
            seen[value] = to_camel(key)
        return self


class Charts(_Model):
    """Where charts come from: upstream repositories, or a mirror for air-gapped installs."""

    source: Literal["upstream", "mirror"] = "upstream"
    mirror: str | None = Field(
        default=None, description="A directory of packaged charts (name-version.tgz) or a Helm repository URL."
    )

    @model_validator(mode="after")
    def _mirror_given(self) -> Charts:
        if self.source == "mirror" and not self.mirror:
            raise ValueError("source 'mirror' needs charts.mirror: a directory of .tgz charts or a Helm repo URL")
        if self.mirror and "://" in self.mirror and not _URL.match(self.mirror):
            raise ValueError(
                f"mirror {self.mirror!r} is not a chart repository URL: use http(s)://host/path or oci://host/path, "
                "or a directory"
            )
        return self


class Versions(_Model):
    """Pins (defaults from versions.py). Override per stack only with a reason."""

    istio: Version = versions.ISTIO
    gateway_api: Version = versions.GATEWAY_API
    charts: dict[str, Version] = Field(default_factory=dict, description="Chart name -> version override.")
    images: dict[str, Image] = Field(default_factory=dict, description="Image key -> pinned image override.")

    @field_validator("charts")
    @classmethod
    def _known_charts(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(versions.CHARTS))
        if unknown:
            raise ValueError(f"unknown chart(s) {unknown}; known: {sorted(versions.CHARTS)}")
        return value

    @field_validator("images")
    @classmethod
    def _known_images(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(versions.IMAGES))
        if unknown:
            raise ValueError(f"unknown image key(s) {unknown}; known: {sorted(versions.IMAGES)}")
        return value

    def chart(self, name: str) -> versions.ChartPin:
        pin = versions.CHARTS[name]
        return versions.ChartPin(pin.name, self.charts.get(name, pin.version), pin.repo)

    def image(self, key: str) -> str:
        return self.images.get(key, versions.IMAGES[key])


class Istio(_Model):
    """The mesh: sidecar injection, mTLS and mesh-wide tracing."""

    inject_namespaces: list[NamespaceKey] = Field(
        default_factory=lambda: list[NamespaceKey](("tracing", "monitoring", "llm"))
    )
    mtls: dict[NamespaceKey, MtlsMode] = Field(
        default_factory=dict,
        description="Per namespace, overriding the mode derived from the edge list (components/mtls.py: STRICT "
        "unless a client without a sidecar remains); the offline preview fails a STRICT one facing such a client.",
    )
    tracing_sampling_percent: float = Field(default=100.0, ge=0.0, le=100.0)
    proxy_resources: Resources = Field(
        default=resources("20m", "64Mi", "1", "256Mi"),
        description="Every injected sidecar (istio-proxy); Istio's default 100m/128Mi per pod crowds a small node.",
    )
    resources: Resources = resources("100m", "256Mi", "1", "1Gi")
    gateway_api_bundle: str | None = Field(
        default=None,
        description="Local Gateway API CRDs for air-gapped installs ({version} is replaced by the pin): a file, "
        "or a directory holding gateway-api-<version>-experimental-install.yaml or upstream's per-CRD files "
        "with their kustomization.yaml. Unset: the charts.mirror directory when charts.source=mirror, else "
        "the upstream release asset.",
    )


class Https(_Model):
    """A TLS listener on 443 (cert-manager certificate); port 80 then only redirects to it."""

    enabled: bool = False
    acme_email: str | None = Field(
        default=None, description="Let's Encrypt account e-mail; unset: a self-signed certificate."
    )
    acme_environment: Literal["staging", "production"] = Field(
        default="staging",
        description="Which Let's Encrypt directory issues the certificate. Staging by default: its rate limits "
        "forgive a misconfigured first run, but browsers do not trust it; switch to production once it issues.",
    )

    @model_validator(mode="after")
    def _email(self) -> Https:
        if self.acme_email is not None and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", self.acme_email):
            raise ValueError(f"acmeEmail {self.acme_email!r} is not an e-mail address")
        return self


class Canary(_Model):
    """Weighted split of LLM traffic between two engines, as weighted Gateway API backendRefs."""

    primary: Engine
    canary: Engine
    percent: int = Field(ge=0, le=100, description="Share of requests sent to the canary.")

    @model_validator(mode="after")
    def _distinct(self) -> Canary:
        if self.primary == self.canary:
            raise ValueError("primary and canary must be different engines")
        return self


class RouteRetry(_Model):
    """HTTPRoute ``rules[].retry`` on every route (Istio 1.30 turns it into the route's retry policy).

    Istio retries these codes and connection failures (connect-failure, refused-stream, unavailable,
    cancelled); Envoy never retries once response headers went to the client, so a started
    stream is never replayed. ``attempts: 0`` turns retries off.
    """

    attempts: int = Field(default=2, ge=0, le=10)
    backoff: str = Field(default="100ms", pattern=r"^([0-9]{1,5}(h|m|s|ms)){1,4}$")
    codes: list[int] = Field(default_factory=lambda: [503])

    @model_validator(mode="after")
    def _codes_are_retriable(self) -> RouteRetry:
        bad = [c for c in self.codes if not 400 <= c <= 599]
        if bad:
            raise ValueError(f"codes {bad}: HTTPRoute retries only 4xx/5xx status codes (400-599)")
        return self


PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8"]


class DirectEngineRoute(_Model):
    """``llm.<domain>`` straight to the engines, bypassing LiteLLM's key: off unless asked for."""

    enabled: bool = Field(default=False, description="Off by default: the engines run without an API key.")
    allowed_cidrs: list[Cidr] = Field(
        default_factory=list, description="Client ranges allowed through (Istio AuthorizationPolicy); required."
    )

    @model_validator(mode="after")
    def _ranges(self) -> DirectEngineRoute:
        if self.enabled and not self.allowed_cidrs:
            raise ValueError(
                "allowedCidrs must name at least one client range when the direct engine route is enabled "
                "(the engines have no key), e.g. pulumi config set --path gateway.directEngineRoute.allowedCidrs[0] "
                "192.168.1.0/24"
            )
        return self


class Gateway(_Model):
    """The single way in: one Gateway, hostnames under ``baseDomain``."""

    base_domain: DnsName = "local"
    https: Https = Https()
    restrict_admin_uis: bool = True
    admin_allowed_cidrs: list[Cidr] = Field(default_factory=lambda: list(PRIVATE_RANGES))
    direct_engine_route: DirectEngineRoute = DirectEngineRoute()
    otlp_allowed_cidrs: list[Cidr] = Field(
        default_factory=lambda: list(PRIVATE_RANGES),
        description="Clients allowed to send OTLP through the gateway (4317/4318); 0.0.0.0/0 opens it.",
    )
    llm_request_timeout: Duration = Field(
        default="0s", description="Gateway API request timeout for LLM routes; 0s disables it so SSE streams run."
    )
    canary: Canary | None = None
    retry: RouteRetry = RouteRetry()
    proxy_resources: Resources = resources("100m", "128Mi", "2", "1Gi")
    await_programmed: bool = Field(
        default=True,
        description="`pulumi up` waits until Istio has programmed the Gateway, so its address is known on the "
        "first run. Turn off where no controller programs Gateways (the simulated lab cluster).",
    )

    @model_validator(mode="after")
    def _admin_cidrs(self) -> Gateway:
        if self.restrict_admin_uis and not self.admin_allowed_cidrs:
            raise ValueError(
                "adminAllowedCidrs is empty while restrictAdminUis=true: Istio rejects an AuthorizationPolicy "
                "without source ranges; list at least one CIDR, or set restrictAdminUis=false"
            )
        return self

    @model_validator(mode="after")
    def _gateway_api_duration(self) -> Gateway:
        # Gateway API durations allow only h/m/s/ms (GEP-2257), stricter than the Duration type.
        if not re.match(r"^([0-9]{1,5}(h|m|s|ms)){1,4}$", self.llm_request_timeout):
            raise ValueError(
                f"llmRequestTimeout {self.llm_request_timeout!r} is not a Gateway API duration: use h, m, s or ms "
                "units, e.g. 0s (no timeout), 600s or 1h"
            )
        return self


class Tempo(_Model):
    retention: Duration = "48h"
    storage_size: Quantity = "10Gi"
    resources: Resources = resources("100m", "512Mi", "1", "2Gi")


class Collector(_Model):
    replicas: int = Field(default=1, ge=1, le=10, description="StatefulSet replicas, each with its own queue volume.")
    memory_limit_mib: int = Field(
        default=400, ge=64, le=1_048_576, description="memory_limiter limit; below the container limit."
    )
    queue_size: int = Field(
        default=1000, ge=100, le=1_000_000,
        description="Export requests (SDK batches) held per exporter in the persistent queue."
    )
    queue_storage_size: Quantity = "1Gi"
    export_to_langfuse: bool = False
    resources: Resources = resources("100m", "256Mi", "1", "512Mi")

    @model_validator(mode="after")
    def _limiter_below_container_limit(self) -> Collector:
        # memory_limiter must refuse data before the kernel kills the container (and its queue in flight).
        limit = _mebibytes(self.resources.limits.memory)
        if limit is not None and self.memory_limit_mib >= limit:
            raise ValueError(
                f"memoryLimitMib {self.memory_limit_mib} must be below resources.limits.memory "
                f"{self.resources.limits.memory} ({limit:g} MiB); about 80% of it leaves room for spikes"
            )
        return self


class OtlpAuth(_Model):
    """A bearer token on the collector's OTLP receivers (gRPC 4317, HTTP 4318).

    On by default: OTLP is the one way in that takes data from whoever reaches it (the Gateway's
    4317/4318 answer ``gateway.otlpAllowedCidrs``, every private range by default, and a LAN is no
    trust boundary), so a stack asks for the token unless it says otherwise. ``dev`` says so in its
    stack file: on a laptop the SDK quick start sends without a header, and the ranges still apply.
    The token is the ``otlpBearerToken`` secret, else generated; apps read it from the secret
    ``hostOtelEnvironment``/``clusterOtelEnvironment`` outputs (``OTEL_EXPORTER_OTLP_HEADERS``).
    """

    enabled: bool = Field(
        default=True, description="Receivers refuse spans without the token (gRPC Unauthenticated, HTTP 401)."
    )


class Tracing(_Model):
    tempo: Tempo = Tempo()
    collector: Collector = Collector()
    otlp_auth: OtlpAuth = OtlpAuth()


class Alertmanager(_Model):
    """Where alerts go. The Slack/webhook URL is the secret ``alertmanagerWebhookUrl``, never a key here."""

    receiver: Literal["none", "slack", "webhook"] = Field(
        default="slack", description="slack sends only once the alertmanagerWebhookUrl secret is set (else a warning)."
    )
    slack_channel: str | None = Field(default=None, description="Default: a channel per stack, #alerts-<stack>.")
    group_wait: Duration = "30s"
    group_interval: Duration = "5m"
    repeat_interval: Duration = "4h"
    resources: Resources = resources("20m", "64Mi", "200m", "128Mi")


class AlertThresholds(_Model):
    """Thresholds of the provisioned alert rules."""

    memory_limit_ratio: float = Field(default=0.8, gt=0, le=1)
    restarts_in_15m: int = Field(default=2, ge=1, le=1000)
    error_ratio: float = Field(default=0.2, gt=0, le=1)
    min_request_rate: float = Field(
        default=0.1, ge=0, le=1_000_000,
        description="req/s below which the 5xx and latency rules stay quiet (minimum traffic).",
    )
    latency_p95_seconds: float = Field(default=60, gt=0, le=86400)
    kv_cache_usage_ratio: float = Field(default=0.9, gt=0, le=1)
    requests_waiting: int = Field(default=10, ge=1, le=1_000_000)
    queue_time_p95_seconds: float = Field(default=30, gt=0, le=86400)
    gpu_temperature_celsius: int = Field(default=85, ge=40, le=110)
    gpu_memory_ratio: float = Field(default=0.95, gt=0, le=1)
    collector_queue_ratio: float = Field(
        default=0.8, gt=0, le=1, description="Collector sending-queue fill (size/capacity) that means Tempo lags."
    )


class Monitoring(_Model):
    prometheus_retention: Duration = "7d"
    scrape_interval: Duration = Field(default="15s", description="Prometheus's default scrape interval.")
    prometheus_storage_size: Quantity = "20Gi"
    prometheus_resources: Resources = resources("200m", "1Gi", "2", "3Gi")
    grafana_resources: Resources = resources("100m", "256Mi", "1", "512Mi")
    operator_resources: Resources = resources("50m", "64Mi", "500m", "256Mi")
    kube_state_metrics_resources: Resources = resources("20m", "64Mi", "200m", "256Mi")
    node_exporter_resources: Resources = resources("20m", "32Mi", "200m", "64Mi")
    alertmanager: Alertmanager = Alertmanager()
    alerts: AlertThresholds = AlertThresholds()


class LokiLimits(_Model):
    """Loki's per-tenant ingestion limits: a noisy pod is throttled (HTTP 429 to Alloy), not Loki's memory."""

    ingestion_rate_mb: float = Field(default=4, gt=0, le=10_000, description="MB/s of log lines accepted, sustained.")
    ingestion_burst_size_mb: float = Field(default=6, gt=0, le=10_000, description="MB accepted in one burst.")
    max_streams_per_user: int = Field(
        default=5000, ge=1, le=10_000_000, description="Active streams (label sets), cluster-wide."
    )
    max_line_size_kib: int = Field(default=256, ge=1, le=65_536, description="Longer lines are refused.")

    @model_validator(mode="after")
    def _burst_covers_rate(self) -> LokiLimits:
        if self.ingestion_burst_size_mb < self.ingestion_rate_mb:
            raise ValueError(
                f"ingestionBurstSizeMb {self.ingestion_burst_size_mb:g} must be at least ingestionRateMb "
                f"{self.ingestion_rate_mb:g}: a burst smaller than one second of the rate refuses steady traffic"
            )
        return self


class Logging(_Model):
    """Loki (single binary) and the Alloy DaemonSet; on by default, it fits both stacks' nodes."""

    enabled: bool = True
    limits: LokiLimits = LokiLimits()
    retention: Duration = Field(default="168h", description="Rounded down to whole hours (Loki's compactor).")
    storage_size: Quantity = "10Gi"
    loki_resources: Resources = resources("100m", "256Mi", "1", "1Gi")
    alloy_resources: Resources = resources("50m", "128Mi", "500m", "256Mi")


class GpuEngineSettings(_Model):
    """What every GPU-served engine (vLLM, SGLang) is given alike: model, cache, placement, resources.

    Flags the program sets itself cannot come in again through ``extraArgs``: the engine components
    own that list (see ``components/vllm_server.py``), and ``__main__`` hands their rule to ``load``.
    """

    model: ModelId = "Qwen/Qwen2.5-3B-Instruct"
    served_model_name: DnsName = "qwen2.5-3b-instruct"
    extra_args: list[str] = Field(default_factory=list)
    gated_model: bool = Field(default=False, description="The model needs a Hugging Face token (hfToken secret).")
    cache_size: Quantity = "50Gi"
    startup_timeout_seconds: int = Field(
        default=1800, ge=60, le=86400, description="Budget to download and load the model."
    )
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(
        default_factory=lambda: [Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule")]
    )
    resources: Resources = resources("2", "8Gi", "4", "12Gi")
    shm_size: Quantity = Field(default="2Gi", description="/dev/shm (memory-backed; counts against the memory limit).")
    otel_bootstrap: bool = Field(
        default=True,
        description="Install the OpenTelemetry packages the engine image lacks (pinned, from PyPI) in an init "
        "container; false if your image already has them (air-gapped clusters).",
    )


class Vllm(GpuEngineSettings):
    """The vLLM OpenAI server on the GPU."""

    max_model_len: int = Field(
        default=8192, ge=256, le=MAX_CONTEXT,
        description="Tokens per sequence; at most the model's context window (CONTEXT_WINDOWS for known models).",
    )
    dtype: Literal["auto", "half", "float16", "bfloat16", "float32"] = "auto"
    tensor_parallel_size: int = Field(default=1, ge=1, le=8)
    gpu_memory_utilization: float = Field(default=0.9, gt=0.0, lt=1.0)
    enable_prefix_caching: bool = True
    resources: Resources = Field(
        default=resources("2", "3Gi", "4", "10Gi"),
        description="Host RAM: weights pass through it while loading (mmap), so the limit must exceed their size.",
    )


    @model_validator(mode="after")
    def _within_context_window(self) -> Vllm:
        window = CONTEXT_WINDOWS.get(self.model)
        if window is not None and self.max_model_len > window:
            raise ValueError(
                f"maxModelLen {self.max_model_len} exceeds the context window of {self.model} ({window} tokens); "
                f"use at most {window}"
            )
        return self


class Sglang(GpuEngineSettings):
    """Optional second engine for the weighted canary."""

    enabled: bool = False
    mem_fraction_static: float = Field(default=0.8, gt=0.0, lt=1.0)


class MockEngine(_Model):
    """The CPU-only OpenAI-compatible stand-in for vLLM (dev stack)."""

    served_model_name: DnsName = "mock-llm"
    tokens_per_second: float = Field(default=50.0, gt=0, le=1_000_000)
    max_tokens: int = Field(
        default=64, ge=1, le=1_000_000, description="Length of a reply when the request sets no max_tokens."
    )
    replicas: int = Field(default=1, ge=1, le=10)
    resources: Resources = resources("50m", "64Mi", "500m", "128Mi")


class Gpu(_Model):
    """NVIDIA device plugin, RuntimeClass and DCGM exporter."""

    enabled: bool = False
    runtime_class_name: DnsLabel = "nvidia"
    install_device_plugin: bool = True
    node_selector: dict[str, str] = Field(
        default_factory=dict, description="GPU nodes (device plugin, DCGM; engines add their own). Empty: every node."
    )
    node_label: str = Field(
        default="nvidia.com/gpu.present",
        description="Device plugin and DCGM run only on nodes with <label>=true (GPU Feature Discovery's label; "
        "k3s.host sets it). Empty: no such rule.",
    )
    tolerations: list[Toleration] = Field(
        default_factory=lambda: [Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule")]
    )
    node_pool: GpuNodePool = GpuNodePool()
    device_plugin_resources: Resources = resources("10m", "32Mi", "100m", "128Mi")
    exporter_resources: Resources = resources("100m", "128Mi", "200m", "512Mi")


class Litellm(_Model):
    """The LiteLLM proxy in front of the engines (OpenAI-compatible, port 4000)."""

    enabled: bool = True
    replicas: int = Field(default=1, ge=1, le=10)
    prometheus_metrics: bool = Field(
        default=True, description="Serve /metrics (open source since LiteLLM 1.80) and scrape it with a ServiceMonitor."
    )
    resources: Resources = resources("100m", "512Mi", "1", "1Gi")


class Langfuse(_Model):
    """Langfuse (chart 2.x) with its stores: Postgres, Valkey, ClickHouse (via its operator), SeaweedFS."""

    enabled: bool = False
    organization: Annotated[str, AfterValidator(_display_name)] = "llm-tracing-infra"
    project: Annotated[str, AfterValidator(_display_name)] = "llm-tracing-infra"
    admin_email: str = "admin@llm-tracing.local"
    clickhouse_operator_namespace: DnsLabel = "clickhouse-operator"
    keeper_replicas: int = Field(default=1, ge=1, le=5, description="ClickHouse Keeper quorum: 1, 3 or 5.")
    postgres_storage_size: Quantity = "8Gi"
    redis_storage_size: Quantity = "1Gi"
    clickhouse_storage_size: Quantity = "10Gi"
    keeper_storage_size: Quantity = "2Gi"
    s3_storage_size: Quantity = "10Gi"
    web_resources: Resources = resources("100m", "384Mi", "1", "2Gi")
    worker_resources: Resources = resources("100m", "384Mi", "1", "2Gi")
    postgres_resources: Resources = resources("100m", "256Mi", "1", "1Gi")
    redis_resources: Resources = resources("50m", "64Mi", "500m", "512Mi")
    clickhouse_resources: Resources = resources("250m", "1Gi", "2", "3Gi")
    keeper_resources: Resources = resources("100m", "128Mi", "500m", "1Gi")
    s3_resources: Resources = resources("100m", "256Mi", "1", "1Gi")
    operator_resources: Resources = resources("50m", "64Mi", "500m", "256Mi")
    credential_derivation: Literal["v1", "v2"] = Field(
        default="v2",
        description=(
            "How credentials derive from langfuseCredentialSeed: v2 (default) separates them by project, stack "
            "and purpose; v1 is the derivation before v2, for stacks whose retained data was encrypted with it."
        ),
    )

    @model_validator(mode="after")
    def _email(self) -> Langfuse:
        if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", self.admin_email):
            raise ValueError(f"adminEmail {self.admin_email!r} is not an e-mail address (Langfuse rejects it)")
        if self.keeper_replicas % 2 == 0:
            raise ValueError(f"keeperReplicas must be odd (1, 3 or 5) for a Keeper quorum, not {self.keeper_replicas}")
        return self


class CertManager(_Model):
    """cert-manager, for the Gateway's HTTPS certificate and the ClickHouse operator's webhook (Langfuse)."""

    install: bool = Field(
        default=True, description="Install it when gateway.https or langfuse needs it; false if the cluster has one."
    )
    namespace: DnsLabel = "cert-manager"
    resources: Resources = resources("50m", "64Mi", "500m", "256Mi")


class Storage(_Model):
    retain_on_destroy: bool = Field(
        default=True, description="Data volumes (model cache, Langfuse data) survive `pulumi destroy`."
    )


class GeneratedSecrets(_Model):
    """How the platform generates its own secrets (see components/_secrets.py)."""

    provider: Literal["random", "command"] = Field(
        default="random", description="pulumi-random, or a local command where the random plugin is unavailable."
    )


class Kubernetes(_Model):
    """Which cluster: the ambient kubeconfig by default."""

    kubeconfig: str | None = None
    context: str | None = None


_K3S_VERSION = re.compile(r"^v[0-9]+\.[0-9]+\.[0-9]+\+k3s[0-9]+$")


def _k3s_version(value: str) -> str:
    if not _K3S_VERSION.match(value):
        raise ValueError("a k3s release tag such as v1.35.8+k3s1 (no channels, no 'latest')")
    return value


class K3s(_Model):
    """Bootstrap: install k3s on a host and deploy onto it. Off unless ``host`` is set.

    ``host: local`` installs on the machine running ``pulumi up``; any other value is an SSH
    host (``user``/``port``; key from the ``k3sSshPrivateKey`` secret, else the SSH agent).
    Either way the user needs root or passwordless sudo there.
    """

    host: Annotated[str, AfterValidator(_host)] | None = Field(
        default=None, description="'local', or an SSH host name/address to install k3s on."
    )
    user: Annotated[str, AfterValidator(_user)] = "root"
    port: int = Field(default=22, ge=1, le=65535)
    host_key: str | None = Field(
        default=None, description="Expected SSH host public key (e.g. 'ssh-ed25519 AAAA...'); unchecked when unset."
    )
    version: Annotated[str, AfterValidator(_k3s_version)] = versions.K3S
    uninstall_on_destroy: bool = Field(
        default=False, description="`pulumi destroy` runs k3s-uninstall.sh; by default the host is left alone."
    )
    ready_timeout_seconds: int = Field(
        default=600, ge=30, le=86400, description="Budget for the node to become Ready."
    )
    gpu_timeout_seconds: int = Field(
        default=1800, ge=60, le=86400, description="Budget for nvidia.com/gpu capacity (the device plugin must start)."
    )

    @property
    def is_local(self) -> bool:
        return self.host == "local"


class Verification(_Model):
    """Post-deploy checks through the gateway (``python -m verify``); they fail `pulumi up` when unmet."""

    enabled: bool = True
    timeout_seconds: int = Field(
        default=300, ge=10, le=3600, description="Deadline of each check that waits (spans, targets)."
    )


class StackConfig(_Model):
    """Everything a stack can set. Defaults serve the CPU-only ``dev`` stack."""

    engine: Engine = "mock"
    namespaces: Namespaces = Namespaces()
    charts: Charts = Charts()
    versions: Versions = Versions()
    istio: Istio = Istio()
    gateway: Gateway = Gateway()
    tracing: Tracing = Tracing()
    monitoring: Monitoring = Monitoring()
    logging: Logging = Logging()
    vllm: Vllm = Vllm()
    sglang: Sglang = Sglang()
    mock_engine: MockEngine = MockEngine()
    gpu: Gpu = Gpu()
    litellm: Litellm = Litellm()
    langfuse: Langfuse = Langfuse()
    cert_manager: CertManager = CertManager()
    storage: Storage = Storage()
    generated_secrets: GeneratedSecrets = GeneratedSecrets()
    kubernetes: Kubernetes = Kubernetes()
    k3s: K3s = K3s()
    verification: Verification = Verification()
    placement: Placement = Placement()
    autoscaling: Autoscaling = Autoscaling()
    cloud: Cloud = Cloud()

    def needs_cert_manager(self) -> bool:
        """A consumer of cert-manager is on: the Gateway's HTTPS listener or Langfuse."""
        return self.gateway.https.enabled or self.langfuse.enabled

    def engines(self) -> list[Engine]:
        """Serving engines deployed: the primary one, plus the canary's when configured."""
        chosen: list[Engine] = [self.engine]
        if self.gateway.canary is not None:
            for engine in (self.gateway.canary.primary, self.gateway.canary.canary):
                if engine not in chosen:
                    chosen.append(engine)
        return chosen

