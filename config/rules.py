"""Rules that span sections; each message names every key involved."""

from __future__ import annotations

import difflib

import versions
from config.capacity import capacity_problems
from config.sections import StackConfig
from config.types import PROJECT


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
    if stack.k3s.host and (stack.kubernetes.kubeconfig or stack.kubernetes.context):
        problems.append(
            f"{p}:k3s.host={stack.k3s.host} installs the cluster, so {p}:kubernetes.kubeconfig/context must be "
            f"unset; remove one of them"
        )
    problems.extend(capacity_problems(stack))
    return problems


KNOWN_NAMESPACES = (PROJECT, "kubernetes", "pulumi", "random", "command")
"""Config namespaces a stack of this project may set: its own and those of the providers it uses."""


def namespace_problem(key: str) -> str | None:
    """An error for a key of an unknown config namespace (``llm-tracing-infr:engine``), with a suggestion."""
    namespace = key.split(":", 1)[0] if ":" in key else PROJECT
    if namespace in KNOWN_NAMESPACES:
        return None
    close = difflib.get_close_matches(namespace, KNOWN_NAMESPACES, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(KNOWN_NAMESPACES)}"
    return f"{key}: unknown config namespace {namespace!r}; {hint}"
