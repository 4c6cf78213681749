"""The engines' queue signals that autoscaling reads from Prometheus: one table, every query built here.

Metric names are the pinned engine's own, read in that version's source (the tables in
``metrics/contract/`` list every name; ``tests/test_autoscaling.py`` holds these to them):

* vLLM v0.11.0 (``vllm/v1/metrics/loggers.py``, ``PrometheusStatLogger``): ``vllm:num_requests_waiting``
  (gauge, requests waiting in the scheduler) and ``vllm:kv_cache_usage_perc`` (gauge, 0-1; it replaced
  ``vllm:gpu_cache_usage_perc``, hidden at 0.11), both labelled ``model_name`` and ``engine``.
* SGLang v0.5.3 (``python/sglang/srt/metrics/collector.py``, ``SchedulerMetricsCollector``):
  ``sglang:num_queue_reqs`` (gauge, the scheduler's waiting queue) and ``sglang:token_usage`` (gauge,
  0-1: tokens in use over the KV pool's size), set in ``managers/scheduler_metrics_mixin.py``. Only
  the scheduler of attention-TP rank 0 reports them unless ``--enable-metrics-for-all-schedulers``, so
  a pod counts once whatever its tensor parallelism. Exposed only with ``--enable-metrics``, which
  ``sglang_server`` always passes.

Prometheus adds ``namespace`` and ``job`` (the Service name, see ``_engine.service_monitor``), which is
how a query picks one engine's pods. KEDA's Prometheus trigger divides the query's value by the
replica count (``AverageValue``), so the queries sum over pods and the thresholds are per replica.
Bumping an engine image means re-checking this table (``tests/test_autoscaling.py`` pins it).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EngineSignals:
    """What one engine exports about its queue."""

    image_tag: str
    """The engine image tag the names below were checked against (``versions.IMAGES``)."""
    waiting: str
    """Gauge: requests waiting for a slot in the engine's batch."""
    kv_cache_usage: str
    """Gauge, 0-1: share of the KV cache in use."""


SIGNALS: dict[str, EngineSignals] = {
    "vllm": EngineSignals("v0.11.0", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc"),
    "sglang": EngineSignals("v0.5.3-cu126", "sglang:num_queue_reqs", "sglang:token_usage"),
}


def _selector(namespace: str, job: str) -> str:
    return f'{{namespace="{namespace}",job="{job}"}}'


def waiting_query(engine: str, namespace: str, job: str) -> str:
    """Requests queued across the engine's pods (per replica once KEDA divides by the replica count)."""
    return f"sum({SIGNALS[engine].waiting}{_selector(namespace, job)})"


def kv_cache_query(engine: str, namespace: str, job: str) -> str:
    """KV-cache usage summed over the engine's pods: divided by replicas, the average share in use."""
    return f"sum({SIGNALS[engine].kv_cache_usage}{_selector(namespace, job)})"
