"""The platform's alert rules, as data: config in, Prometheus rule groups out.

Kept pure so tests can dump the groups to a file for ``promtool check rules`` and the unit
tests in ``tests/promtool/``; MonitoringStack wraps them in one PrometheusRule object.

Metric names are those of the pinned versions: kube-state-metrics and cAdvisor (kps 88.5.3),
Istio's standard metrics, vLLM v0.11 (``vllm:kv_cache_usage_perc`` replaced the deprecated
``vllm:gpu_cache_usage_perc``), DCGM exporter 4.x, the OpenTelemetry Collector 0.158 internal
telemetry (counters carry ``_total`` since it moved to the OTel SDK Prometheus exporter) and
Tempo 2.10's distributor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.contracts import ServiceRef
from config.sections import AlertThresholds

Rule = dict[str, Any]
Group = dict[str, Any]


@dataclass(frozen=True)
class AlertScope:
    """What the rules watch besides their thresholds: namespaces, the vLLM Service, the GPU."""

    llm_namespaces: tuple[str, ...]
    """Namespaces of the engines and the proxy (5xx and latency rules)."""
    vllm: ServiceRef
    """Where vLLM answers (or would): its ServiceMonitor's job label is this Service's name."""
    vllm_deployed: bool
    """vLLM runs on this stack: a missing ``up`` series then means it is down."""
    gpu: bool
    """The stack monitors a GPU (DCGM rules)."""
    gpu_memory_utilization: float
    """vLLM's reserved share of GPU memory (``vllm.gpuMemoryUtilization``), named in the GPU memory alert."""


def _num(value: float) -> str:
    """A threshold as PromQL prints it: no trailing ``.0`` noise, no exponent."""
    return f"{value:g}" if abs(value) >= 1e-4 else f"{value:.6f}"


def _alert(name: str, expr: str, for_: str, severity: str, summary: str, description: str) -> Rule:
    flat = " ".join(expr.split()).replace("( ", "(").replace(" )", ")")
    rule: Rule = {"alert": name, "expr": flat}
    if for_ != "0m":
        rule["for"] = for_
    rule["labels"] = {"severity": severity}
    rule["annotations"] = {"summary": summary, "description": description}
    return rule


def platform_rules(t: AlertThresholds, scope: AlertScope) -> list[Rule]:
    llm_namespaces = "|".join(sorted(set(scope.llm_namespaces)))
    requests = "istio_requests_total{reporter=\"destination\"}"
    by_service = "sum by (destination_workload_namespace, destination_service_name)"
    return [
        _alert(
            "PodNotRunning",
            'sum by (namespace, pod) (kube_pod_status_phase{phase=~"Pending|Unknown|Failed"}) > 0',
            "2m", "warning",
            "Pod {{ $labels.namespace }}/{{ $labels.pod }} is not running",
            "The pod has been Pending, Unknown or Failed for more than 2 minutes.",
        ),
        _alert(
            "ContainerMemoryNearLimit",
            f"""
            max by (namespace, pod, container) (
              container_memory_working_set_bytes{{container!="", container!="POD", container!="istio-proxy"}})
            / max by (namespace, pod, container) (
              kube_pod_container_resource_limits{{resource="memory", container!="istio-proxy"}})
            > {_num(t.memory_limit_ratio)}
            """,
            "5m", "warning",
            "Container {{ $labels.namespace }}/{{ $labels.pod }}/{{ $labels.container }} is close to its memory limit",
            f"Working set above {t.memory_limit_ratio:.0%} of the memory limit for 5 minutes (OOM kill ahead).",
        ),
        _alert(
            "ContainerRestarting",
            f"""
            sum by (namespace, pod, container) (increase(kube_pod_container_status_restarts_total[15m]))
            >= {t.restarts_in_15m}
            """,
            "2m", "critical",
            "Container {{ $labels.namespace }}/{{ $labels.pod }}/{{ $labels.container }} keeps restarting",
            f"{t.restarts_in_15m} or more restarts in the last 15 minutes, for 2 minutes (crash loop).",
        ),
        _alert(
            "ServiceHighErrorRatio",
            f"""
            (
              {by_service} (rate(istio_requests_total{{reporter="destination", response_code=~"5.."}}[5m]))
              / {by_service} (rate({requests}[5m]))
              > {_num(t.error_ratio)}
            )
            and {by_service} (rate({requests}[5m])) > {_num(t.min_request_rate)}
            """,
            "5m", "critical",
            "Service {{ $labels.destination_workload_namespace }}/{{ $labels.destination_service_name }}"
            " answers with 5xx",
            f"More than {t.error_ratio:.0%} of requests fail with 5xx while traffic exceeds "
            f"{_num(t.min_request_rate)} req/s (Istio request metrics).",
        ),
        _alert(
            "ServiceHighLatency",
            f"""
            histogram_quantile(0.95,
              sum by (le, destination_workload_namespace, destination_service_name) (
                rate(istio_request_duration_milliseconds_bucket{{reporter="destination",
                  destination_workload_namespace!~"{llm_namespaces}"}}[5m])))
            > {_num(t.latency_p95_seconds * 1000)}
            and {by_service} (rate({requests}[5m])) > {_num(t.min_request_rate)}
            """,
            "10m", "warning",
            "Service {{ $labels.destination_workload_namespace }}/{{ $labels.destination_service_name }} is slow",
            f"p95 latency above {_num(t.latency_p95_seconds)}s for 10 minutes while traffic exceeds "
            f"{_num(t.min_request_rate)} req/s (a few slow requests do not page). LLM namespaces "
            f"({llm_namespaces}) are excluded: streamed completions are long by design.",
        ),
        _alert(
            "DeploymentReplicasUnavailable",
            "kube_deployment_status_replicas_available < kube_deployment_spec_replicas",
            "5m", "warning",
            "Deployment {{ $labels.namespace }}/{{ $labels.deployment }} lacks available replicas",
            "Fewer available replicas than desired for 5 minutes.",
        ),
        _alert(
            "StatefulSetReplicasUnavailable",
            "kube_statefulset_status_replicas_available < kube_statefulset_replicas",
            "5m", "warning",
            "StatefulSet {{ $labels.namespace }}/{{ $labels.statefulset }} lacks available replicas",
            "Fewer available replicas than desired for 5 minutes.",
        ),
    ]


def llm_rules(t: AlertThresholds, scope: AlertScope) -> list[Rule]:
    # The engine's ServiceMonitor scrapes its Service: the job label is the Service name.
    vllm = scope.vllm
    vllm_up = f'up{{namespace="{vllm.namespace}", job="{vllm.name}"}}'
    down = f"max by (namespace, job) ({vllm_up}) == 0"
    if scope.vllm_deployed:
        # A crash-looping pod leaves the Service's endpoints, and its `up` series with them.
        down = f"({down}) or absent({vllm_up})"
    return [
        _alert(
            "VllmKvCacheNearlyFull",
            f"max by (namespace, pod, model_name) (vllm:kv_cache_usage_perc) > {_num(t.kv_cache_usage_ratio)}",
            "5m", "warning",
            "vLLM {{ $labels.model_name }} KV cache is nearly full",
            f"KV-cache usage above {t.kv_cache_usage_ratio:.0%} for 5 minutes: requests queue or get preempted.",
        ),
        _alert(
            "VllmRequestsWaiting",
            f"max by (namespace, pod, model_name) (vllm:num_requests_waiting) > {t.requests_waiting}",
            "5m", "warning",
            "vLLM {{ $labels.model_name }} has a request backlog",
            f"More than {t.requests_waiting} requests waiting for 5 minutes.",
        ),
        _alert(
            "VllmQueueTimeHigh",
            f"""
            histogram_quantile(0.95,
              sum by (le, namespace, model_name) (rate(vllm:request_queue_time_seconds_bucket[5m])))
            > {_num(t.queue_time_p95_seconds)}
            """,
            "5m", "warning",
            "vLLM {{ $labels.model_name }} requests wait too long",
            f"p95 time in the waiting queue above {_num(t.queue_time_p95_seconds)}s.",
        ),
        _alert(
            "VllmDown",
            down,
            "2m", "critical",
            "vLLM in namespace " + vllm.namespace + " is down",
            "The vLLM metrics endpoint has not answered for 2 minutes.",
        ),
    ]


def gpu_rules(t: AlertThresholds, scope: AlertScope) -> list[Rule]:
    by_gpu = "max by (Hostname, gpu, UUID)"
    return [
        _alert(
            "GpuTemperatureHigh",
            f"{by_gpu} (DCGM_FI_DEV_GPU_TEMP) > {t.gpu_temperature_celsius}",
            "5m", "critical",
            "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} runs hot",
            f"GPU temperature above {t.gpu_temperature_celsius} C for 5 minutes.",
        ),
        _alert(
            "GpuXidError",
            f"{by_gpu} (DCGM_FI_DEV_XID_ERRORS) > 0",
            "0m", "critical",
            "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} reported an XID error",
            "The driver reported XID {{ $value }}; see NVIDIA's XID catalogue (often a reset is needed).",
        ),
        _alert(
            "GpuMemoryNearlyFull",
            f"""
            {by_gpu} (DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE))
            > {_num(t.gpu_memory_ratio)}
            """,
            "10m", "warning",
            "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} memory is nearly full",
            f"Framebuffer use above {t.gpu_memory_ratio:.0%} for 10 minutes (vLLM reserves "
            f"{scope.gpu_memory_utilization:.0%} by design).",
        ),
    ]


def tracing_rules(t: AlertThresholds) -> list[Rule]:
    return [
        _alert(
            "CollectorRefusingSpans",
            "sum by (namespace, receiver) (rate(otelcol_receiver_refused_spans_total[5m])) > 0",
            "5m", "warning",
            "OpenTelemetry Collector refuses spans on {{ $labels.receiver }}",
            "The collector pushes back on clients (memory_limiter or a full pipeline); spans may be lost upstream.",
        ),
        _alert(
            "CollectorDroppingSpans",
            """
            sum by (namespace, exporter) (rate(otelcol_exporter_send_failed_spans_total[5m])) > 0
            or sum by (namespace, exporter) (rate(otelcol_exporter_enqueue_failed_spans_total[5m])) > 0
            """,
            "5m", "critical",
            "OpenTelemetry Collector drops spans on {{ $labels.exporter }}",
            "Spans failed after all retries or did not fit the sending queue: they are lost.",
        ),
        _alert(
            "CollectorQueueFilling",
            f"""
            max by (namespace, exporter) (otelcol_exporter_queue_size)
            / max by (namespace, exporter) (otelcol_exporter_queue_capacity)
            > {_num(t.collector_queue_ratio)}
            """,
            "5m", "warning",
            "OpenTelemetry Collector queue of {{ $labels.exporter }} is filling up",
            f"The sending queue is over {t.collector_queue_ratio:.0%} full: the backend is slow or down.",
        ),
        _alert(
            "TempoDiscardingSpans",
            "sum by (namespace, reason) (rate(tempo_discarded_spans_total[5m])) > 0",
            "5m", "warning",
            "Tempo discards spans ({{ $labels.reason }})",
            "Tempo's distributor rejects spans (rate limits, trace too large, ...): traces are incomplete.",
        ),
        _alert(
            "TempoIngestionFailing",
            "sum by (namespace) (rate(tempo_distributor_ingester_append_failures_total[5m])) > 0",
            "5m", "critical",
            "Tempo fails to store received spans",
            "The distributor cannot append spans to the ingester: received traces are not stored.",
        ),
    ]


def rule_groups(thresholds: AlertThresholds, scope: AlertScope) -> list[Group]:
    """Every alert group the platform provisions (GPU rules only on stacks with a GPU)."""
    groups = [
        {"name": "llm-tracing-infra.platform", "rules": platform_rules(thresholds, scope)},
        {"name": "llm-tracing-infra.llm-serving", "rules": llm_rules(thresholds, scope)},
        {"name": "llm-tracing-infra.tracing-pipeline", "rules": tracing_rules(thresholds)},
    ]
    if scope.gpu:
        groups.append({"name": "llm-tracing-infra.gpu", "rules": gpu_rules(thresholds, scope)})
    return groups
