"""Spans sent with the OpenTelemetry Python SDK, remembered so the sink's side can be checked span by span."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from tests.pipeline.otlp_sink import OtlpSink

MAX_QUEUE = 200_000
"""Above any test's span count: the SDK must never drop a span itself, so a loss is the pipeline's."""


@dataclass
class Sent:
    """Every span a test ended, by span id, with the attributes it was given."""

    spans: dict[str, dict[str, Any]] = field(default_factory=dict)
    services: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, span_id: str, attributes: dict[str, Any], service: str) -> None:
        with self.lock:
            self.spans[span_id] = attributes
            self.services[span_id] = service

    def __len__(self) -> int:
        return len(self.spans)

    def subset(self, keep: Any) -> Sent:
        """The spans for which ``keep(attributes, service)`` is true."""
        chosen = Sent()
        for span_id, attributes in self.spans.items():
            if keep(attributes, self.services[span_id]):
                chosen.add(span_id, attributes, self.services[span_id])
        return chosen


class Resending(SpanExporter):
    """Export again a batch the SDK gave up on (bounded): a client that keeps its spans until acknowledged.

    The Python SDK drops a batch whose export outlives its deadline (DEADLINE_EXCEEDED is not
    retryable there); on a loaded machine a collector busy with disk I/O can be that slow to
    acknowledge. With this, a span only counts as lost when the collector acknowledged it.
    """

    def __init__(self, inner: SpanExporter, attempts: int = 8) -> None:
        self.inner = inner
        self.attempts = attempts
        self.resent = 0

    def export(self, spans: Any) -> SpanExportResult:
        for attempt in range(self.attempts):
            if self.inner.export(spans) == SpanExportResult.SUCCESS:
                return SpanExportResult.SUCCESS
            self.resent += 1
            time.sleep(min(2.0**attempt, 10.0))
        return SpanExportResult.FAILURE

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


class OtlpClient:
    """A TracerProvider exporting to the collector over OTLP gRPC or OTLP/HTTP, with generous retries."""

    def __init__(
        self,
        protocol: str,
        endpoint: str,
        service: str,
        export_timeout: float = 30,
        batch_size: int = 512,
        resend: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        exporter: SpanExporter
        if protocol == "grpc":
            exporter = GrpcSpanExporter(endpoint=endpoint, insecure=True, timeout=export_timeout, headers=headers)
        else:
            exporter = HttpSpanExporter(endpoint=f"{endpoint}/v1/traces", timeout=export_timeout, headers=headers)
        self.resending = Resending(exporter) if resend else None
        exporter = self.resending or exporter
        self.service = service
        self.provider = TracerProvider(resource=Resource.create({"service.name": service}))
        self.provider.add_span_processor(
            BatchSpanProcessor(
                exporter,
                max_queue_size=MAX_QUEUE,
                max_export_batch_size=batch_size,
                schedule_delay_millis=100,
                export_timeout_millis=int(export_timeout * 1000 * 2),
            )
        )
        self.tracer = self.provider.get_tracer("tests.pipeline")

    def send(
        self,
        sent: Sent,
        count: int,
        run: str,
        payload: int = 0,
        rate: float | None = None,
        deadline: float | None = None,
        llm: bool = True,
    ) -> int:
        """End ``count`` spans (at ``rate`` per second when given); returns how many were sent.

        ``llm``: the spans carry GenAI attributes (an inference); without, they are plain spans.
        """
        started = time.monotonic()
        for seq in range(count):
            if deadline is not None and time.monotonic() > deadline:
                return seq
            if rate:
                ahead = started + seq / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            attributes: dict[str, Any] = {"test.run": run, "test.seq": seq, "test.sent_unix_nano": time.time_ns()}
            if llm:
                attributes.update({"gen_ai.request.model": "mock-llm", "gen_ai.usage.input_tokens": seq % 97})
            if payload:
                attributes["test.payload"] = "x" * payload
            with self.tracer.start_as_current_span(f"{run} {seq}", attributes=attributes) as span:
                span_id = format(span.get_span_context().span_id, "016x")
            sent.add(span_id, attributes, self.service)
        return count

    def close(self, timeout_millis: int = 120_000) -> None:
        self.provider.force_flush(timeout_millis)
        self.provider.shutdown()


@dataclass
class Outcome:
    sent: int
    received: int
    lost: int
    duplicates: int
    wrong_attributes: list[str]
    leaked: int = 0
    """Spans that should have been filtered out on the way to this sink but arrived."""

    def line(self, name: str) -> str:
        return (
            f"[{name}] sent={self.sent} received={self.received} lost={self.lost} "
            f"duplicates={self.duplicates} attribute_mismatches={len(self.wrong_attributes)} "
            f"filtered_leaks={self.leaked}"
        )


def compare(sent: Sent, sink: OtlpSink, name: str, withheld: Sent | None = None) -> Outcome:
    """Check every sent span arrived once with its attributes, and no ``withheld`` one did; print the counts."""
    missing = [span_id for span_id in sent.spans if span_id not in sink.spans]
    leaked = [span_id for span_id in (withheld.spans if withheld else {}) if span_id in sink.spans]
    wrong = [
        span_id
        for span_id, attributes in sent.spans.items()
        if span_id in sink.spans and any(sink.spans[span_id].attributes.get(k) != v for k, v in attributes.items())
    ]
    outcome = Outcome(len(sent), len(sent) - len(missing), len(missing), sink.duplicates, wrong, len(leaked))
    print(outcome.line(name))
    return outcome


@contextmanager
def retry_warnings() -> Iterator[list[str]]:
    """Collect the OTLP exporters' 'transient error, retrying' warnings (the client saw a retryable refusal)."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            text = record.getMessage()
            if "retrying" in text.lower() or "transient" in text.lower():
                messages.append(text)

    handler = Collect(level=logging.WARNING)
    exporters = logging.getLogger("opentelemetry.exporter")  # both OTLP exporters log under it
    exporters.addHandler(handler)
    try:
        yield messages
    finally:
        exporters.removeHandler(handler)
