"""Every pinned version of the platform, in one place.

Charts, container images and the Gateway API CRD bundle are pinned here and only here. Stack
config may override a pin (``llm-tracing-infra:versions``), never silently: the override is
validated like any other key. Bumping a chart means: change the pin, re-run
``python -m tools.chart_keys`` for it, and commit the refreshed key list.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChartPin:
    """A Helm chart as published upstream: its name, pinned version and repository."""

    name: str
    version: str
    repo: str
    """Upstream repository URL (https://... index or oci://... registry)."""


ISTIO_REPO = "https://istio-release.storage.googleapis.com/charts"

# Istio <-> Gateway API: the CRD bundle each Istio minor is built and conformance-tested against
# (go.mod of istio/istio at each tag; kubernetes-sigs/gateway-api conformance reports).
ISTIO_GATEWAY_API_COMPAT: dict[str, tuple[str, ...]] = {
    "1.24": ("v1.2.0", "v1.2.1"),
    "1.25": ("v1.2.1", "v1.2.0"),
    "1.26": ("v1.3.0",),
    "1.27": ("v1.3.0",),
    "1.28": ("v1.4.1", "v1.4.0"),
    "1.29": ("v1.4.1", "v1.4.0"),
    "1.30": ("v1.5.1",),
}

# renovate: datasource=helm depName=istiod registryUrl=https://istio-release.storage.googleapis.com/charts
ISTIO = "1.30.3"
# renovate: datasource=github-releases depName=kubernetes-sigs/gateway-api
GATEWAY_API = "v1.5.1"
GATEWAY_API_BUNDLE_URL = (
    "https://github.com/kubernetes-sigs/gateway-api/releases/download/{version}/experimental-install.yaml"
)

# renovate: datasource=github-releases depName=k3s-io/k3s (k3s.host bootstrap; Istio 1.30 supports its Kubernetes)
K3S = "v1.35.8+k3s1"

CHARTS: dict[str, ChartPin] = {
    pin.name: pin
    for pin in (
        ChartPin("kube-prometheus-stack", "88.5.3", "https://prometheus-community.github.io/helm-charts"),
        ChartPin("tempo", "2.2.4", "https://grafana-community.github.io/helm-charts"),
        ChartPin("loki", "18.11.0", "https://grafana-community.github.io/helm-charts"),
        ChartPin("alloy", "1.11.1", "https://grafana.github.io/helm-charts"),
        ChartPin("opentelemetry-collector", "0.170.0", "https://open-telemetry.github.io/opentelemetry-helm-charts"),
        ChartPin("langfuse", "2.0.0", "https://langfuse.github.io/langfuse-k8s"),
        ChartPin("clickhouse-operator-helm", "0.0.2", "oci://ghcr.io/clickhouse"),
        ChartPin("cert-manager", "v1.21.1", "https://charts.jetstack.io"),
        ChartPin("dcgm-exporter", "4.8.2", "https://nvidia.github.io/dcgm-exporter/helm-charts"),
        ChartPin("nvidia-device-plugin", "0.20.0", "https://nvidia.github.io/k8s-device-plugin"),
        ChartPin("keda", "2.20.2", "https://kedacore.github.io/charts"),
        ChartPin("karpenter-crd", "1.14.1", "oci://public.ecr.aws/karpenter"),
        ChartPin("karpenter", "1.14.1", "oci://public.ecr.aws/karpenter"),
    )
}
"""Charts other than Istio's (base, istiod, gateway follow ``ISTIO``)."""

IMAGES: dict[str, str] = {
    # renovate: datasource=docker depName=otel/opentelemetry-collector-contrib (chart 0.170.0 appVersion)
    "otelCollector": "otel/opentelemetry-collector-contrib:0.158.0",
    # renovate: datasource=docker depName=vllm/vllm-openai
    "vllm": "vllm/vllm-openai:v0.11.0",
    # renovate: datasource=docker depName=lmsysorg/sglang
    "sglang": "lmsysorg/sglang:v0.5.3-cu126",
    # renovate: datasource=docker depName=ghcr.io/berriai/litellm
    "litellm": "ghcr.io/berriai/litellm:v1.80.12-stable",
    # renovate: datasource=docker depName=python (the mock engine runs on a stock image)
    "mockEngine": "python:3.12.7-slim-bookworm",
    # renovate: datasource=docker depName=curlimages/curl (verification Jobs)
    "curl": "curlimages/curl:8.10.1",
}
