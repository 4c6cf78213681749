"""Pod Security Admission levels of the platform's namespaces, each with the reason it is not stricter.

``restricted`` wherever every pod is known to meet it; ``baseline`` where a chart's pods are not
proven to (the level then still forbids host access and privilege); ``privileged`` only where a
component needs host access or extra capabilities. ``enforce`` and ``warn`` carry that level;
``audit`` always asks for ``restricted``, so the API server's audit log names every pod that
keeps a namespace below it. The policy pack's ``pod-security-level`` rule checks the program's
own workloads against their namespace's level before anything is applied.
"""

from __future__ import annotations

from typing import Literal

Level = Literal["privileged", "baseline", "restricted"]

PSA_VERSION = "v1.35"
"""The Pod Security Standards version the levels are pinned to (the lab's API server, Kubernetes 1.35)."""

SIDECAR_INIT = (
    "istio-init (sidecar injection without the Istio CNI) adds NET_ADMIN and NET_RAW to set up traffic "
    "redirection: neither baseline nor restricted allows them"
)

REASONS: dict[str, tuple[Level, str]] = {
    "gpu": ("privileged", "NVIDIA device plugin (hostPath device-plugin socket) and DCGM exporter (host GPU access)"),
    "monitoring": ("privileged", "node-exporter: hostNetwork, hostPID and hostPath mounts of /proc, /sys and /"),
    "istio": ("baseline", "Istio's gateway pods set the safe sysctl net.ipv4.ip_unprivileged_port_start; "
                          "istiod's and the gateway's restricted fields are the chart's, not proven here"),
    "litellm": ("restricted", "LiteLLM runs as a numeric non-root user on a read-only root, its writes on "
                              "emptyDirs, every restricted field set"),
    "langfuse": ("baseline", "Langfuse's Postgres, Valkey, SeaweedFS and ClickHouse pods come from charts and "
                             "an operator whose restricted fields are not proven here"),
    "logging": ("baseline", "Loki's chart pods are not proven restricted (Alloy is: no hostPath, API-based tailing)"),
    "tracing": ("baseline", "the collector's and Tempo's chart pods are not proven restricted"),
    "llm": ("restricted", "the mock engine, vLLM and SGLang run non-root with every restricted field set"),
    "cert-manager": ("restricted", "the chart's pods set runAsNonRoot, RuntimeDefault seccomp, drop ALL"),
    "keda": ("baseline", "KEDA's operator, metrics API server and webhook come from its chart, whose restricted "
                         "fields are not proven here"),
    "clickhouse-operator": ("restricted", "the chart's manager sets runAsNonRoot, RuntimeDefault seccomp, drop ALL"),
}
"""Namespace key (``namespaces`` section, or an add-on's own namespace) -> level and why."""


def level(key: str, *, injected: bool) -> tuple[Level, str]:
    """The namespace's level: its own, or ``privileged`` when Istio injects sidecars there."""
    own = REASONS[key]
    if injected and own[0] != "privileged":
        return "privileged", SIDECAR_INIT
    return own


def namespace_labels(key: str, *, injected: bool = False) -> dict[str, str]:
    enforced, _ = level(key, injected=injected)
    prefix = "pod-security.kubernetes.io"
    return {
        f"{prefix}/enforce": enforced, f"{prefix}/enforce-version": PSA_VERSION,
        f"{prefix}/warn": enforced, f"{prefix}/warn-version": PSA_VERSION,
        f"{prefix}/audit": "restricted", f"{prefix}/audit-version": PSA_VERSION,
    }
