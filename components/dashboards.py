"""Grafana dashboards as code (grafana-foundation-sdk): built here, provisioned as ConfigMaps.

Every panel names its datasource by the fixed uids MonitoringStack provisions, so a dashboard
never depends on which datasource happens to be the default. Queries use the metric names of
the pinned versions (see ``components.alert_rules``).
"""

from __future__ import annotations

import json
from typing import Any

from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import nodegraph, stat, table, tempo, timeseries
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef
from grafana_foundation_sdk.models.tempo import SearchTableType

PROMETHEUS_UID = "prometheus"
TEMPO_UID = "tempo"
LOKI_UID = "loki"
ALERTMANAGER_UID = "alertmanager"

PROMETHEUS = DataSourceRef(type_val="prometheus", uid=PROMETHEUS_UID)
TEMPO = DataSourceRef(type_val="tempo", uid=TEMPO_UID)

TAGS = ["llm-tracing-infra"]
LLM_SPANS = "{ span.gen_ai.request.model != nil }"
"""TraceQL for LLM calls: vLLM and LiteLLM both set the GenAI semantic-convention attributes."""


def _query(expr: str, legend: str = "", *, exemplars: bool = False) -> prom.Dataquery:
    query = prom.Dataquery().expr(expr).datasource(PROMETHEUS)
    if legend:
        query = query.legend_format(legend)
    return query.exemplar(True) if exemplars else query


def _series(title: str, unit: str, *queries: prom.Dataquery, width: int = 12) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).unit(unit).datasource(PROMETHEUS).height(8).span(width)
    for ref, query in zip("ABCDEFGH", queries, strict=False):
        panel = panel.with_target(query.ref_id(ref))
    return panel


def _stat(title: str, unit: str, expr: str) -> stat.Panel:
    panel = stat.Panel().title(title).unit(unit).datasource(PROMETHEUS).height(4).span(6)
    return panel.with_target(_query(expr).ref_id("A"))


def _quantiles(metric: str, by: str) -> list[prom.Dataquery]:
    return [
        _query(
            f"histogram_quantile({q}, sum by (le, {by}) (rate({metric}_bucket[$__rate_interval])))",
            f"p{round(q * 100)} {{{{{by}}}}}",
        )
        for q in (0.5, 0.95, 0.99)
    ]


def _dashboard(uid: str, title: str, description: str) -> gd.Dashboard:
    return (
        gd.Dashboard(title).uid(uid).description(description).tags(TAGS)
        .refresh("30s").time("now-1h", "now").timezone("browser")
    )


def vllm_serving() -> gd.Dashboard:
    rate = "[$__rate_interval]"
    return (
        _dashboard("llm-vllm-serving", "LLM / vLLM serving", "Throughput, latency, KV cache and queue of vLLM.")
        .with_row(gd.Row("Now"))
        .with_panel(_stat("Requests running", "short", "sum(vllm:num_requests_running)"))
        .with_panel(_stat("Requests waiting", "short", "sum(vllm:num_requests_waiting)"))
        .with_panel(_stat("KV cache usage", "percentunit", "max(vllm:kv_cache_usage_perc)"))
        .with_panel(_stat("Generated tokens/s", "short", f"sum(rate(vllm:generation_tokens_total{rate}))"))
        .with_row(gd.Row("Throughput"))
        .with_panel(_series(
            "Token throughput", "short",
            _query(f"sum by (model_name) (rate(vllm:generation_tokens_total{rate}))", "generated {{model_name}}"),
            _query(f"sum by (model_name) (rate(vllm:prompt_tokens_total{rate}))", "prompt {{model_name}}"),
        ))
        .with_panel(_series(
            "Finished requests/s", "reqps",
            _query(f"sum by (model_name, finished_reason) (rate(vllm:request_success_total{rate}))",
                   "{{model_name}} {{finished_reason}}"),
        ))
        .with_row(gd.Row("Latency"))
        .with_panel(_series("Time to first token", "s", *_quantiles("vllm:time_to_first_token_seconds", "model_name")))
        .with_panel(_series("End-to-end latency", "s", *_quantiles("vllm:e2e_request_latency_seconds", "model_name")))
        .with_panel(_series(
            # vLLM 0.11 deprecated vllm:time_per_output_token_seconds for this name (same observations).
            "Inter-token latency", "s", *_quantiles("vllm:inter_token_latency_seconds", "model_name")
        ))
        .with_panel(_series("Queue time", "s", *_quantiles("vllm:request_queue_time_seconds", "model_name")))
        .with_row(gd.Row("KV cache and queue"))
        .with_panel(_series(
            "KV cache usage", "percentunit",
            _query("max by (model_name, pod) (vllm:kv_cache_usage_perc)", "{{model_name}} {{pod}}"),
        ))
        .with_panel(_series(
            "Scheduler", "short",
            _query("sum by (model_name) (vllm:num_requests_running)", "running {{model_name}}"),
            _query("sum by (model_name) (vllm:num_requests_waiting)", "waiting {{model_name}}"),
            _query(f"sum by (model_name) (rate(vllm:num_preemptions_total{rate}))", "preemptions/s {{model_name}}"),
        ))
    )


def gpu() -> gd.Dashboard:
    by = "Hostname, gpu"
    legend = "{{Hostname}} GPU {{gpu}}"
    return (
        _dashboard("llm-gpu-dcgm", "LLM / GPU (DCGM)", "NVIDIA GPU health from the DCGM exporter.")
        .with_panel(_series("GPU utilisation", "percent", _query(f"max by ({by}) (DCGM_FI_DEV_GPU_UTIL)", legend)))
        .with_panel(_series("Temperature", "celsius", _query(f"max by ({by}) (DCGM_FI_DEV_GPU_TEMP)", legend)))
        .with_panel(_series(
            "Framebuffer used", "percentunit",
            _query(f"max by ({by}) (DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE))", legend),
        ))
        .with_panel(_series("Power", "watt", _query(f"max by ({by}) (DCGM_FI_DEV_POWER_USAGE)", legend)))
        .with_panel(_series("SM clock", "hertz", _query(f"max by ({by}) (DCGM_FI_DEV_SM_CLOCK) * 1e6", legend)))
        .with_panel(_series("Last XID error", "none", _query(f"max by ({by}) (DCGM_FI_DEV_XID_ERRORS)", legend)))
    )


def tracing_pipeline() -> gd.Dashboard:
    rate = "[$__rate_interval]"
    return (
        _dashboard("llm-tracing-pipeline", "LLM / Tracing pipeline", "Spans through the collector into Tempo.")
        .with_row(gd.Row("OpenTelemetry Collector"))
        .with_panel(_series(
            "Spans accepted / refused", "short",
            _query(f"sum by (receiver) (rate(otelcol_receiver_accepted_spans_total{rate}))", "accepted {{receiver}}"),
            _query(f"sum by (receiver) (rate(otelcol_receiver_refused_spans_total{rate}))", "refused {{receiver}}"),
        ))
        .with_panel(_series(
            "Spans exported / failed", "short",
            _query(f"sum by (exporter) (rate(otelcol_exporter_sent_spans_total{rate}))", "sent {{exporter}}"),
            _query(f"sum by (exporter) (rate(otelcol_exporter_send_failed_spans_total{rate}))", "failed {{exporter}}"),
            _query(f"sum by (exporter) (rate(otelcol_exporter_enqueue_failed_spans_total{rate}))",
                   "enqueue failed {{exporter}}"),
        ))
        .with_panel(_series(
            "Sending queue", "short",
            _query("max by (exporter) (otelcol_exporter_queue_size)", "size {{exporter}}"),
            _query("max by (exporter) (otelcol_exporter_queue_capacity)", "capacity {{exporter}}"),
        ))
        .with_row(gd.Row("Tempo"))
        .with_panel(_series(
            "Tempo spans received", "short",
            _query(f"sum by (tenant) (rate(tempo_distributor_spans_received_total{rate}))", "{{tenant}}"),
        ))
        .with_panel(_series(
            "Tempo ingestion failures", "short",
            _query(f"sum by (reason) (rate(tempo_discarded_spans_total{rate}))", "discarded {{reason}}"),
            _query(f"sum(rate(tempo_distributor_ingester_append_failures_total{rate}))", "append failures"),
        ))
    )


def llm_overview() -> gd.Dashboard:
    rate = "[$__rate_interval]"
    spans = 'traces_spanmetrics_latency_bucket{span_kind=~"SPAN_KIND_SERVER|SPAN_KIND_CLIENT"}'
    return (
        _dashboard(
            "llm-request-overview", "LLM / Request overview",
            "Every LLM request from the gateway through LiteLLM to the engine; click a trace to follow it.",
        )
        .with_panel(_series(
            "Requests by service (span metrics)", "reqps",
            _query(f"sum by (service) (rate(traces_spanmetrics_calls_total{rate}))", "{{service}}"),
        ))
        .with_panel(_series(
            "p95 latency by service (exemplars link to traces)", "s",
            _query(f"histogram_quantile(0.95, sum by (le, service) (rate({spans}{rate})))", "{{service}}",
                   exemplars=True),
        ))
        .with_panel(
            table.Panel().title("Recent LLM requests (click a trace ID)").datasource(TEMPO).height(10).span(24)
            .with_target(
                tempo.TempoQuery().ref_id("A").datasource(TEMPO).query_type("traceql").query(LLM_SPANS)
                .table_type(SearchTableType.TRACES).limit(50)
            )
        )
        .with_panel(
            nodegraph.Panel().title("Service graph").datasource(TEMPO).height(10).span(24)
            .with_target(tempo.TempoQuery().ref_id("A").datasource(TEMPO).query_type("serviceMap"))
        )
    )


FOLDERS = {
    "llm-vllm-serving": "LLM serving",
    "llm-request-overview": "LLM serving",
    "llm-gpu-dcgm": "GPU",
    "llm-tracing-pipeline": "Observability pipeline",
}
"""Grafana folder of each dashboard (by uid): serving, hardware and the pipeline apart from kps' own."""


def folder_of(uid: str) -> str:
    """The folder a dashboard goes into; a dashboard without one is a mistake, not the General folder."""
    if uid not in FOLDERS:
        raise ValueError(f"dashboard {uid!r} has no folder in components/dashboards.FOLDERS")
    return FOLDERS[uid]


def all_dashboards(gpu_enabled: bool) -> dict[str, dict[str, Any]]:
    """Dashboard JSON models by file name (the GPU one only where a GPU is monitored)."""
    builders = [vllm_serving(), tracing_pipeline(), llm_overview()] + ([gpu()] if gpu_enabled else [])
    encoder = JSONEncoder(sort_keys=True)
    models = [json.loads(encoder.encode(b.build())) for b in builders]
    for model in models:
        # The SDK leaves panel ids to the caller; Grafana needs them unique per dashboard.
        for number, panel in enumerate(model["panels"], start=1):
            panel["id"] = number
    return {f"{m['uid']}.json": m for m in models}
