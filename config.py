"""Typed stack configuration: the one place that says what a stack can set, and its defaults.

Stack files (``Pulumi.<stack>.yaml``) hold only what differs from these defaults, which serve
the CPU-only ``dev`` stack. Keys are camelCase, grouped in sections, and written as
``llm-tracing-infra:<section>`` objects; ``pulumi config set --path vllm.gpuMemoryUtilization 0.85``
sets one of them. Every model forbids unknown keys, so a typo is an error, not a silent default.

Secrets never enter these models: they are top-level keys set with ``pulumi config set --secret``
(see ``SECRET_KEYS``) and reach components as ``pulumi.Output`` values, marked secret.

``load()`` validates everything before a single resource is registered and raises
``ConfigError`` with one line per problem: the key as the user writes it, the value given, and
what is allowed.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import pulumi
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

import versions

PROJECT = "llm-tracing-infra"

# ---------------------------------------------------------------------------------------------
# Value types with the rule and the fix in their error messages
# ---------------------------------------------------------------------------------------------

_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SEMVER = re.compile(r"^v?[0-9]+\.[0-9]+\.[0-9]+$")
_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:-]*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def _quantity(value: str) -> str:
    if not _QUANTITY.match(value):
        raise ValueError("a Kubernetes quantity such as 50Gi, 512Mi or 500m (binary units are Ki/Mi/Gi, not Gb)")
    return value


def _duration(value: str) -> str:
    if not _DURATION.match(value):
        raise ValueError("a duration such as 30s, 5m, 48h or 15d")
    return value


def _dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise ValueError("a DNS label: lower-case letters, digits and '-', at most 63 characters, e.g. 'tracing'")
    return value


def _dns_name(value: str) -> str:
    labels = value.split(".")
    if len(value) > 253 or not all(len(x) <= 63 and _DNS_LABEL.match(x) for x in labels):
        raise ValueError("a DNS name: dot-separated lower-case labels, e.g. 'local' or 'lab.example.com'")
    return value


def _semver(value: str) -> str:
    if not _SEMVER.match(value):
        raise ValueError("an exact version such as 1.30.3 or v1.5.1 (no ranges, no 'latest')")
    return value


def _image(value: str) -> str:
    if not _IMAGE.match(value) or value.endswith((":latest", ":main", ":nightly")):
        raise ValueError("an image pinned to a version tag, e.g. vllm/vllm-openai:v0.11.0 (never :latest)")
    return value


def _cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError("a network in CIDR form, e.g. 10.0.0.0/8 or 192.168.1.0/24") from None
    return value


def _mebibytes(quantity: str) -> float | None:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024**2, "k": 1e3 / 2**20, "M": 1e6 / 2**20, "G": 1e9 / 2**20}
    match = re.match(r"^([0-9.]+)([A-Za-z]*)$", quantity)
    if not match:
        return None
    number, unit = float(match.group(1)), match.group(2)
    if unit == "":
        return number / 2**20
    return number * units[unit] if unit in units else None


Quantity = Annotated[str, AfterValidator(_quantity)]
Duration = Annotated[str, AfterValidator(_duration)]
DnsLabel = Annotated[str, AfterValidator(_dns_label)]
DnsName = Annotated[str, AfterValidator(_dns_name)]
Version = Annotated[str, AfterValidator(_semver)]
Image = Annotated[str, AfterValidator(_image)]
Cidr = Annotated[str, AfterValidator(_cidr)]
NamespaceKey = Literal["tracing", "monitoring", "llm", "litellm", "langfuse", "logging"]
MtlsMode = Literal["PERMISSIVE", "STRICT", "DISABLE"]
Engine = Literal["vllm", "mock", "sglang"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


# ---------------------------------------------------------------------------------------------
# Shared fragments
# ---------------------------------------------------------------------------------------------


class ResourceAmounts(_Model):
    cpu: Quantity
    memory: Quantity


class Resources(_Model):
    """Container requests and limits (Kubernetes quantities)."""

    requests: ResourceAmounts
    limits: ResourceAmounts

    def as_k8s(self) -> dict[str, dict[str, str]]:
        return {
            "requests": {"cpu": self.requests.cpu, "memory": self.requests.memory},
            "limits": {"cpu": self.limits.cpu, "memory": self.limits.memory},
        }


def resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> Resources:
    return Resources(
        requests=ResourceAmounts(cpu=cpu, memory=memory), limits=ResourceAmounts(cpu=cpu_limit, memory=memory_limit)
    )


class Toleration(_Model):
    key: str
    operator: Literal["Exists", "Equal"] = "Exists"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None


# ---------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------


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
    mtls: dict[NamespaceKey, MtlsMode] = Field(default_factory=dict, description="Per namespace; PERMISSIVE if unset.")
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
    enabled: bool = False
    acme_email: str | None = None
    acme_server: str = "https://acme-v02.api.letsencrypt.org/directory"

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


class Gateway(_Model):
    """The single way in: one Gateway, hostnames under ``baseDomain``."""

    base_domain: DnsName = "local"
    https: Https = Https()
    restrict_admin_uis: bool = True
    admin_allowed_cidrs: list[Cidr] = Field(
        default_factory=lambda: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8"]
    )
    llm_request_timeout: Duration = Field(
        default="0s", description="Gateway API request timeout for LLM routes; 0s disables it so SSE streams run."
    )
    canary: Canary | None = None
    proxy_resources: Resources = resources("100m", "128Mi", "2", "1Gi")
    await_programmed: bool = Field(
        default=True,
        description="`pulumi up` waits until Istio has programmed the Gateway, so its address is known on the "
        "first run. Turn off where no controller programs Gateways (the simulated lab cluster).",
    )

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
    memory_limit_mib: int = Field(default=400, ge=64, description="memory_limiter limit; below the container limit.")
    queue_size: int = Field(
        default=1000, ge=100, description="Export requests (SDK batches) held per exporter in the persistent queue."
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


class Tracing(_Model):
    tempo: Tempo = Tempo()
    collector: Collector = Collector()


class Alertmanager(_Model):
    """Where alerts go. The Slack/webhook URL is the secret ``alertmanagerWebhookUrl``, never a key here."""

    receiver: Literal["none", "slack", "webhook"] = "none"
    slack_channel: str = "#alerts"
    group_wait: Duration = "30s"
    group_interval: Duration = "5m"
    repeat_interval: Duration = "4h"
    resources: Resources = resources("20m", "64Mi", "200m", "128Mi")


class AlertThresholds(_Model):
    """Thresholds of the provisioned alert rules."""

    memory_limit_ratio: float = Field(default=0.8, gt=0, le=1)
    restarts_in_15m: int = Field(default=2, ge=1)
    error_ratio: float = Field(default=0.2, gt=0, le=1)
    min_request_rate: float = Field(default=0.1, ge=0, description="req/s below which the 5xx rule stays quiet.")
    latency_p95_seconds: float = Field(default=60, gt=0)
    kv_cache_usage_ratio: float = Field(default=0.9, gt=0, le=1)
    requests_waiting: int = Field(default=10, ge=1)
    queue_time_p95_seconds: float = Field(default=30, gt=0)
    gpu_temperature_celsius: int = Field(default=85, ge=40, le=110)
    gpu_memory_ratio: float = Field(default=0.95, gt=0, le=1)
    collector_queue_ratio: float = Field(
        default=0.8, gt=0, le=1, description="Collector sending-queue fill (size/capacity) that means Tempo lags."
    )


class Monitoring(_Model):
    prometheus_retention: Duration = "7d"
    prometheus_storage_size: Quantity = "20Gi"
    prometheus_resources: Resources = resources("200m", "1Gi", "2", "3Gi")
    grafana_resources: Resources = resources("100m", "256Mi", "1", "512Mi")
    operator_resources: Resources = resources("50m", "64Mi", "500m", "256Mi")
    kube_state_metrics_resources: Resources = resources("20m", "64Mi", "200m", "256Mi")
    node_exporter_resources: Resources = resources("20m", "32Mi", "200m", "64Mi")
    alertmanager: Alertmanager = Alertmanager()
    alerts: AlertThresholds = AlertThresholds()


class Logging(_Model):
    """Loki (single binary) and the Alloy DaemonSet; on by default, it fits both stacks' nodes."""

    enabled: bool = True
    retention: Duration = Field(default="168h", description="Rounded down to whole hours (Loki's compactor).")
    storage_size: Quantity = "10Gi"
    loki_resources: Resources = resources("100m", "256Mi", "1", "1Gi")
    alloy_resources: Resources = resources("50m", "128Mi", "500m", "256Mi")


def _reject_owned_flags(args: list[str], owned: tuple[str, ...], section: str) -> list[str]:
    """Engine flags the program sets itself must not come in again through ``extraArgs``."""
    clash = [arg for arg in args if arg.split("=")[0] in owned]
    if clash:
        raise ValueError(f"must not set {clash}: use the dedicated keys of the {section} section")
    return args


class Vllm(_Model):
    """The vLLM OpenAI server on the GPU."""

    model: str = "Qwen/Qwen2.5-3B-Instruct"
    served_model_name: DnsName = "qwen2.5-3b-instruct"
    max_model_len: int = Field(default=8192, ge=256)
    dtype: Literal["auto", "half", "float16", "bfloat16", "float32"] = "auto"
    tensor_parallel_size: int = Field(default=1, ge=1, le=8)
    gpu_memory_utilization: float = Field(default=0.9, gt=0.0, lt=1.0)
    enable_prefix_caching: bool = True
    extra_args: list[str] = Field(default_factory=list)
    gated_model: bool = Field(default=False, description="The model needs a Hugging Face token (hfToken secret).")
    cache_size: Quantity = "50Gi"
    startup_timeout_seconds: int = Field(default=1800, ge=60, description="Budget to download and load the model.")
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(
        default_factory=lambda: [Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule")]
    )
    resources: Resources = Field(
        default=resources("2", "3Gi", "4", "10Gi"),
        description="Host RAM: weights pass through it while loading (mmap), so the limit must exceed their size.",
    )
    shm_size: Quantity = Field(default="2Gi", description="/dev/shm (memory-backed; counts against the memory limit).")
    otel_bootstrap: bool = Field(
        default=True,
        description="Install the OpenTelemetry packages the vLLM image lacks (pinned, from PyPI) in an init "
        "container; false if your image already has them (air-gapped clusters).",
    )

    @field_validator("extra_args")
    @classmethod
    def _no_owned_flags(cls, value: list[str]) -> list[str]:
        owned = ("--gpu-memory-utilization", "--model", "--port", "--served-model-name", "--otlp-traces-endpoint")
        return _reject_owned_flags(value, owned, "vllm")


class Sglang(_Model):
    """Optional second engine for the weighted canary."""

    enabled: bool = False
    model: str = "Qwen/Qwen2.5-3B-Instruct"
    served_model_name: DnsName = "qwen2.5-3b-instruct"
    mem_fraction_static: float = Field(default=0.8, gt=0.0, lt=1.0)
    extra_args: list[str] = Field(default_factory=list)
    gated_model: bool = Field(default=False, description="The model needs a Hugging Face token (hfToken secret).")
    cache_size: Quantity = "50Gi"
    startup_timeout_seconds: int = Field(default=1800, ge=60, description="Budget to download and load the model.")
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(
        default_factory=lambda: [Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule")]
    )
    resources: Resources = resources("2", "8Gi", "4", "12Gi")
    shm_size: Quantity = Field(default="2Gi", description="/dev/shm (memory-backed; counts against the memory limit).")
    otel_bootstrap: bool = Field(
        default=True, description="Install the OpenTelemetry packages the SGLang image lacks; see vllm.otelBootstrap."
    )

    @field_validator("extra_args")
    @classmethod
    def _no_owned_flags(cls, value: list[str]) -> list[str]:
        owned = ("--model-path", "--port", "--served-model-name", "--mem-fraction-static", "--otlp-traces-endpoint")
        return _reject_owned_flags(value, owned, "sglang")


class MockEngine(_Model):
    """The CPU-only OpenAI-compatible stand-in for vLLM (dev stack)."""

    served_model_name: DnsName = "mock-llm"
    tokens_per_second: float = Field(default=50.0, gt=0)
    max_tokens: int = Field(default=64, ge=1, description="Length of a reply when the request sets no max_tokens.")
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
    tolerations: list[Toleration] = Field(
        default_factory=lambda: [Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule")]
    )
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
    organization: str = "llm-tracing-infra"
    project: str = "llm-tracing-infra"
    admin_email: str = "admin@llm-tracing.local"
    install_cert_manager: bool = Field(
        default=True, description="cert-manager for the ClickHouse operator's webhook; false if the cluster has one."
    )
    cert_manager_namespace: DnsLabel = "cert-manager"
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

    @model_validator(mode="after")
    def _email(self) -> Langfuse:
        if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", self.admin_email):
            raise ValueError(f"adminEmail {self.admin_email!r} is not an e-mail address (Langfuse rejects it)")
        if self.keeper_replicas % 2 == 0:
            raise ValueError(f"keeperReplicas must be odd (1, 3 or 5) for a Keeper quorum, not {self.keeper_replicas}")
        return self


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

    host: str | None = Field(default=None, description="'local', or an SSH host name/address to install k3s on.")
    user: str = "root"
    port: int = Field(default=22, ge=1, le=65535)
    host_key: str | None = Field(
        default=None, description="Expected SSH host public key (e.g. 'ssh-ed25519 AAAA...'); unchecked when unset."
    )
    version: Annotated[str, AfterValidator(_k3s_version)] = versions.K3S
    uninstall_on_destroy: bool = Field(
        default=False, description="`pulumi destroy` runs k3s-uninstall.sh; by default the host is left alone."
    )
    ready_timeout_seconds: int = Field(default=600, ge=30, description="Budget for the node to become Ready.")
    gpu_timeout_seconds: int = Field(
        default=1800, ge=60, description="Budget for nvidia.com/gpu capacity (the device plugin must start)."
    )

    @property
    def is_local(self) -> bool:
        return self.host == "local"


class Verification(_Model):
    """Post-deploy checks through the gateway (``python -m verify``); they fail `pulumi up` when unmet."""

    enabled: bool = True
    timeout_seconds: int = Field(default=300, ge=10, description="Deadline of each check that waits (spans, targets).")


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
    storage: Storage = Storage()
    generated_secrets: GeneratedSecrets = GeneratedSecrets()
    kubernetes: Kubernetes = Kubernetes()
    k3s: K3s = K3s()
    verification: Verification = Verification()

    def engines(self) -> list[Engine]:
        """Serving engines deployed: the primary one, plus the canary's when configured."""
        chosen: list[Engine] = [self.engine]
        if self.gateway.canary is not None:
            for engine in (self.gateway.canary.primary, self.gateway.canary.canary):
                if engine not in chosen:
                    chosen.append(engine)
        return chosen


def _cross_checks(stack: StackConfig) -> list[str]:
    """Rules that span sections; each message names every key involved."""
    p = PROJECT
    problems: list[str] = []
    istio_minor = ".".join(stack.versions.istio.lstrip("v").split(".")[:2])
    if stack.versions.gateway_api not in versions.ISTIO_GATEWAY_API_COMPAT.get(istio_minor, ()):
        pairs = ", ".join(f"{k}.x with {'/'.join(v)}" for k, v in versions.ISTIO_GATEWAY_API_COMPAT.items())
        problems.append(
            f"{p}:versions.istio={stack.versions.istio} and {p}:versions.gatewayApi={stack.versions.gateway_api}"
            f" are not a supported pair; supported: {pairs}"
        )
    for engine in stack.engines():
        if engine in ("vllm", "sglang") and not stack.gpu.enabled:
            problems.append(
                f"{p}:engine/{p}:gateway.canary uses {engine}, which needs a GPU (given gpu.enabled=false); "
                f"set {p}:gpu.enabled=true or use engine 'mock'"
            )
    if "sglang" in stack.engines() and not stack.sglang.enabled:
        problems.append(
            f"{p}:gateway.canary names sglang but {p}:sglang.enabled=false; enable it or pick another engine"
        )
    if stack.tracing.collector.export_to_langfuse and not stack.langfuse.enabled:
        problems.append(f"{p}:tracing.collector.exportToLangfuse=true needs {p}:langfuse.enabled=true")
    if "vllm" in stack.engines() and stack.monitoring.alerts.gpu_memory_ratio <= stack.vllm.gpu_memory_utilization:
        problems.append(
            f"{p}:monitoring.alerts.gpuMemoryRatio={stack.monitoring.alerts.gpu_memory_ratio} must be above "
            f"{p}:vllm.gpuMemoryUtilization={stack.vllm.gpu_memory_utilization}: vLLM reserves that share of GPU "
            f"memory up front, so a lower threshold fires forever"
        )
    workload = {stack.namespaces.name(k) for k in ("tracing", "monitoring", "llm", "litellm", "langfuse", "logging")}
    if stack.namespaces.istio in workload:
        problems.append(
            f"{p}:namespaces.istio={stack.namespaces.istio} must differ from every workload namespace "
            f"(istiod's namespace never gets sidecars)"
        )
    if stack.gateway.https.acme_email and not stack.gateway.https.enabled:
        problems.append(f"{p}:gateway.https.acmeEmail is set but {p}:gateway.https.enabled=false; enable HTTPS")
    if stack.gateway.https.acme_email and stack.gateway.base_domain == "local":
        problems.append(
            f"{p}:gateway.https.acmeEmail needs a public {p}:gateway.baseDomain (given 'local'); "
            f"ACME cannot validate .local names"
        )
    problems += _mirror_problems(stack)
    if stack.k3s.host and (stack.kubernetes.kubeconfig or stack.kubernetes.context):
        problems.append(
            f"{p}:k3s.host={stack.k3s.host} installs the cluster, so {p}:kubernetes.kubeconfig/context must be "
            f"unset; remove one of them"
        )
    return problems


def charts_in_use(stack: StackConfig) -> list[versions.ChartPin]:
    """The pinned charts this stack installs (tests hold it equal to the charts in the plan)."""
    names = ["kube-prometheus-stack", "tempo", "opentelemetry-collector"]
    names += ["loki", "alloy"] if stack.logging.enabled else []
    names += ["dcgm-exporter"] if stack.gpu.enabled else []
    names += ["nvidia-device-plugin"] if stack.gpu.enabled and stack.gpu.install_device_plugin else []
    names += ["langfuse", "clickhouse-operator-helm"] if stack.langfuse.enabled else []
    names += ["cert-manager"] if stack.langfuse.enabled and stack.langfuse.install_cert_manager else []
    istio = [versions.ChartPin(n, stack.versions.istio, versions.ISTIO_REPO) for n in ("base", "istiod")]
    return istio + [stack.versions.chart(n) for n in names]


def _mirror_problems(stack: StackConfig) -> list[str]:
    """A mirror directory must hold every pinned chart the stack installs, at the pinned version."""
    mirror = stack.charts.mirror
    if stack.charts.source != "mirror" or not mirror or mirror.startswith(("http://", "https://", "oci://")):
        return []
    directory = Path(mirror).expanduser()
    if not directory.is_dir():
        return [f"{PROJECT}:charts.mirror={mirror} is not a directory (or a Helm repository URL)"]
    missing = [
        f"{pin.name}-{pin.version}.tgz"
        for pin in charts_in_use(stack)
        if not (directory / f"{pin.name}-{pin.version}.tgz").exists()
    ]
    if not missing:
        return []
    return [
        f"{PROJECT}:charts.mirror={mirror} lacks {', '.join(missing)}: add the pinned charts to the mirror "
        f"(helm pull <repo>/<chart> --version <pin>), or pin what the mirror has with {PROJECT}:versions.charts"
    ]


# ---------------------------------------------------------------------------------------------
# Secrets: set with `pulumi config set --secret`, never part of the models above
# ---------------------------------------------------------------------------------------------

SECRET_KEYS: dict[str, str] = {
    "hfToken": "Hugging Face token, needed for gated models (vllm.gatedModel / sglang.gatedModel)",
    "grafanaAdminPassword": "Grafana admin password; generated when unset",
    "alertmanagerWebhookUrl": "Slack incoming-webhook or generic webhook URL for Alertmanager",
    "litellmMasterKey": "LiteLLM master key (must start with sk-); generated when unset",
    "k3sSshPrivateKey": "SSH private key for k3s.host (PEM/OpenSSH); the SSH agent is used when unset",
    "langfuseCredentialSeed": "Seed of Langfuse's generated credentials (e.g. `openssl rand -hex 32`): with it a "
    "`pulumi up` after `pulumi destroy` opens the retained Langfuse data again; random when unset",
}


@dataclass(frozen=True)
class Secrets:
    """Secret config values as Pulumi secrets; None where the stack does not set them."""

    values: dict[str, pulumi.Output[str]] = field(default_factory=dict)

    def get(self, key: str) -> pulumi.Output[str] | None:
        return self.values.get(key)


class ConfigError(pulumi.RunError):
    """Invalid stack configuration: one line per problem, no traceback."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid stack configuration ({len(problems)} problem(s)):\n{lines}")


def _raw_config() -> dict[str, Any]:
    """Every config value of this project, whether the engine or a test put it there."""
    merged: dict[str, Any] = dict(pulumi.runtime.get_config_env())
    merged.update(pulumi.runtime.config.CONFIG.get())
    return {k: v for k, v in merged.items() if k.startswith(f"{PROJECT}:")}


def _decode(value: Any) -> Any:
    """Objects and lists arrive JSON-encoded; scalars as strings that pydantic coerces."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _describe(error: Any) -> str:
    key = f"{PROJECT}:" + ".".join(str(part) for part in error["loc"])
    given = error.get("input")
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key (given {json.dumps(given)}); check the spelling against config.py"
    if error["type"] == "missing":
        return f"{key}: required, not set"
    given_text = "an object" if isinstance(given, dict | list) and len(json.dumps(given)) > 80 else json.dumps(given)
    return f"{key}: {message} (given {given_text})".replace(f"{PROJECT}:: ", f"{PROJECT}: ")


def validate(raw: dict[str, Any], secret_keys: set[str]) -> StackConfig:
    """Validate raw ``{section: value}`` config; raise ConfigError listing every problem."""
    problems: list[str] = []
    plain = {k: v for k, v in raw.items() if k not in SECRET_KEYS}
    for key in sorted(set(raw) & set(SECRET_KEYS)):
        if key not in secret_keys:
            problems.append(
                f"{PROJECT}:{key}: is stored in plain text; store it encrypted with "
                f"`pulumi config set --secret {key} <value>`"
            )
    try:
        stack = StackConfig.model_validate(plain)
    except ValidationError as exc:
        problems.extend(_describe(e) for e in exc.errors(include_url=False))
        raise ConfigError(problems) from None
    problems.extend(_cross_checks(stack))
    problems.extend(_missing_secrets(stack, set(raw)))
    if problems:
        raise ConfigError(problems)
    return stack


def _missing_secrets(stack: StackConfig, given: set[str]) -> list[str]:
    needed: list[tuple[str, str]] = []
    if stack.monitoring.alertmanager.receiver != "none":
        needed.append(
            ("alertmanagerWebhookUrl", f"monitoring.alertmanager.receiver={stack.monitoring.alertmanager.receiver}")
        )
    if stack.vllm.gated_model and "vllm" in stack.engines():
        needed.append(("hfToken", "vllm.gatedModel=true"))
    if stack.sglang.gated_model and "sglang" in stack.engines():
        needed.append(("hfToken", "sglang.gatedModel=true"))
    return [
        f"{PROJECT}:{key}: required by {PROJECT}:{reason}; set it with `pulumi config set --secret {key} <value>`"
        for key, reason in needed
        if key not in given
    ]


def load() -> tuple[StackConfig, Secrets]:
    """Read and validate this stack's configuration; call before registering any resource."""
    raw_full = _raw_config()
    secret_keys = {k.split(":", 1)[1] for k in raw_full if pulumi.runtime.is_config_secret(k)}
    secret_keys |= {k.split(":", 1)[1] for k in pulumi.runtime.get_config_secret_keys_env()}
    raw = {k.split(":", 1)[1]: _decode(v) for k, v in raw_full.items()}
    stack = validate(raw, secret_keys)
    cfg = pulumi.Config(PROJECT)
    secrets = {key: out for key in SECRET_KEYS if (out := cfg.get_secret(key)) is not None}
    return stack, Secrets(secrets)
