"""``python -m bench.collector_bench``: the generated collector config against a minimal one, same run.

Both configs run on the same collector binary (``tools/build_collector.py``) on this machine:
the config the offline preview generates (addresses localized, k8s_attributes removed as in the
pipeline tests) and a default-style ``otlp -> batch -> otlp`` config. The same spans are pushed
through each over OTLP gRPC from pre-encoded requests (so Python's span creation does not cap
the figures) into a local sink standing in for Tempo. Printed, per config: spans/s (first send
to last span received), collector CPU seconds and peak RSS from /proc with spans sent back to
back; p50/p99 end-to-end delay (sink receive time - span end time, which is the send time) at a
steady rate below saturation, so it shows the pipeline's batching, not a backlog; then the
generated/minimal ratio.
Every figure is measured in this run; nothing is estimated.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import grpc

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc  # noqa: E402
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue  # noqa: E402
from opentelemetry.proto.resource.v1.resource_pb2 import Resource  # noqa: E402
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span  # noqa: E402

from tests.pipeline.collector import generated_config, minimal_config, running_pipeline  # noqa: E402
from tools import build_collector  # noqa: E402

RETRYABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED)


def requests(total: int, per_request: int) -> list[trace_service_pb2.ExportTraceServiceRequest]:
    """Pre-encoded export requests: LLM-like spans (GenAI attributes), unique ids."""
    batches = []
    for first in range(0, total, per_request):
        spans = []
        for seq in range(first, min(first + per_request, total)):
            attributes = {
                "gen_ai.operation.name": "chat",
                "gen_ai.system": "vllm",
                "gen_ai.request.model": "Qwen2.5-3B-Instruct",
                "gen_ai.usage.input_tokens": 40 + seq % 300,
                "gen_ai.usage.output_tokens": 100 + seq % 200,
                "http.response.status_code": 200,
                "url.path": "/v1/chat/completions",
            }
            spans.append(
                Span(
                    trace_id=os.urandom(16),
                    span_id=os.urandom(8),
                    name="chat Qwen2.5-3B-Instruct",
                    kind=Span.SPAN_KIND_SERVER,
                    attributes=[KeyValue(key=k, value=_any(v)) for k, v in attributes.items()],
                )
            )
        resource = [KeyValue(key="service.name", value=AnyValue(string_value="bench-engine"))]
        batches.append(
            trace_service_pb2.ExportTraceServiceRequest(
                resource_spans=[
                    ResourceSpans(resource=Resource(attributes=resource), scope_spans=[ScopeSpans(spans=spans)])
                ]
            )
        )
    return batches


def _any(value: Any) -> AnyValue:
    return AnyValue(int_value=value) if isinstance(value, int) else AnyValue(string_value=str(value))


def push(
    endpoint: str,
    batches: list[trace_service_pb2.ExportTraceServiceRequest],
    refusals: list[int],
    interval: float = 0.0,
) -> None:
    """Export ``batches`` in order, one per ``interval`` seconds (0: back to back); retry refusals (bounded)."""
    with grpc.insecure_channel(endpoint) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        started = time.monotonic()
        for index, batch in enumerate(batches):
            if interval and (ahead := started + index * interval - time.monotonic()) > 0:
                time.sleep(ahead)
            now = time.time_ns()
            for span in batch.resource_spans[0].scope_spans[0].spans:
                span.start_time_unix_nano = now - 1_000_000
                span.end_time_unix_nano = now
            for attempt in range(20):
                try:
                    stub.Export(batch, timeout=30)
                    break
                except grpc.RpcError as error:
                    if error.code() not in RETRYABLE or attempt == 19:
                        raise
                    refusals.append(1)
                    time.sleep(min(0.05 * 2**attempt, 2))


def run(
    binary: Path, name: str, config: dict[str, Any], batches: list[Any], clients: int, interval: float = 0.0
) -> dict[str, Any]:
    """One config, one load: back to back (throughput, CPU, memory) or paced (end-to-end delay)."""
    total = sum(len(b.resource_spans[0].scope_spans[0].spans) for b in batches)
    with (
        tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as workdir,
        running_pipeline(binary, config, Path(workdir)) as pipeline,
    ):
        collector = pipeline.collector
        sink = next(iter(pipeline.sinks.values()))
        collector.sample()
        cpu_before = collector.cpu_seconds
        refusals: list[int] = []
        threads = [
            threading.Thread(target=push, args=(collector.otlp_grpc, batches[i::clients], refusals, interval * clients))
            for i in range(clients)
        ]
        started = time.time_ns()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(600)
        received = sink.wait_for(total, timeout=120)
        collector.sample()
        cpu = collector.cpu_seconds - cpu_before
        peak_rss_mib = collector.peak_rss_kib / 1024
        spans = list(sink.spans.values())
    if received < total:
        raise SystemExit(f"{name}: only {received} of {total} spans arrived")
    last = max(s.received_unix_nano for s in spans)
    delays_ms = sorted((s.received_unix_nano - s.end_unix_nano) / 1e6 for s in spans)
    return {
        "config": name,
        "spans/s": total / ((last - started) / 1e9),
        "p50 ms": statistics.median(delays_ms),
        "p99 ms": delays_ms[int(len(delays_ms) * 0.99) - 1],
        "CPU s": cpu,
        "CPU ms/1k spans": cpu * 1e6 / total,
        "peak RSS MiB": peak_rss_mib,
        "refusals": len(refusals),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--spans", type=int, default=300_000)
    parser.add_argument("--per-request", type=int, default=500)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--rate", type=float, default=5000, help="spans/s of the paced (delay) run")
    parser.add_argument("--paced-seconds", type=float, default=10)
    args = parser.parse_args(argv)

    binary = build_collector.build(quiet=True)
    configs = {f"generated ({args.stack})": generated_config(args.stack), "minimal": minimal_config()}
    print(f"collector {binary}", file=sys.stderr)
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, Linux {platform.release()}, "
        f"load average {os.getloadavg()[0]:.1f} at start; {args.spans} spans, {args.per_request}/request, "
        f"{args.clients} gRPC clients"
    )
    results = []
    for name, config in configs.items():
        saturated = run(binary, name, config, requests(args.spans, args.per_request), args.clients)
        paced_spans = int(args.rate * args.paced_seconds)
        paced = run(
            binary,
            name,
            config,
            requests(paced_spans, args.per_request),
            args.clients,
            interval=args.per_request / args.rate,
        )
        results.append({**saturated, "p50 ms": paced["p50 ms"], "p99 ms": paced["p99 ms"]})
    print(
        f"throughput, CPU and RSS: {args.spans} spans back to back; delay: {args.rate:.0f} spans/s for "
        f"{args.paced_seconds:.0f} s (sink receive time - span end time)"
    )
    columns = ["config", "spans/s", "p50 ms", "p99 ms", "CPU s", "CPU ms/1k spans", "peak RSS MiB", "refusals"]
    print(" | ".join(f"{c:>15}" for c in columns))
    for result in results:
        print(
            " | ".join(f"{result[c]:>15.1f}" if isinstance(result[c], float) else f"{result[c]:>15}" for c in columns)
        )
    generated, minimal = results
    print(" | ".join([f"{'ratio gen/min':>15}"] + [f"{generated[c] / minimal[c]:>15.2f}" for c in columns[1:-1]]))
    print(
        "spans/s is end to end with a Python load generator and sink on the same CPUs: when both configs "
        "show about the same, that is their bound; CPU ms/1k spans is the collector's own cost."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
