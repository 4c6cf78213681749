"""A local OTLP trace sink standing in for Tempo (gRPC) or Langfuse (HTTP): it records every span.

It can be stopped and started again on the same port, which is how the fault tests take the
backend away while the collector keeps receiving. Spans are keyed by span id, so a span the
collector delivers twice (a retried export) counts once and shows up in ``duplicates``.
"""

from __future__ import annotations

import socket
import threading
import time
from concurrent import futures
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    return getattr(value, kind) if kind else None


def attributes(pairs: Any) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in pairs if isinstance(kv, KeyValue)}


@dataclass(frozen=True)
class ReceivedSpan:
    trace_id: str
    span_id: str
    name: str
    attributes: dict[str, Any]
    resource: dict[str, Any]
    end_unix_nano: int
    received_unix_nano: int


class OtlpSink:
    """Records spans exported over OTLP gRPC (``protocol="grpc"``) or OTLP/HTTP protobuf (``"http"``)."""

    def __init__(self, protocol: str = "grpc", port: int | None = None) -> None:
        if protocol not in ("grpc", "http"):
            raise ValueError(f"unknown protocol {protocol!r}")
        self.protocol = protocol
        self.port = port or free_port()
        self.spans: dict[str, ReceivedSpan] = {}
        self.duplicates = 0
        self.requests = 0
        self._lock = threading.Lock()
        self._grpc: grpc.Server | None = None
        self._http: ThreadingHTTPServer | None = None
        self._http_thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """What the collector's exporter points at (gRPC: host:port; HTTP: base URL)."""
        address = f"127.0.0.1:{self.port}"
        return address if self.protocol == "grpc" else f"http://{address}"

    @property
    def running(self) -> bool:
        return self._grpc is not None or self._http is not None

    def record(self, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
        now = time.time_ns()
        with self._lock:
            self.requests += 1
            for resource_spans in request.resource_spans:
                resource = attributes(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        span_id = span.span_id.hex()
                        if span_id in self.spans:
                            self.duplicates += 1
                            continue
                        self.spans[span_id] = ReceivedSpan(
                            trace_id=span.trace_id.hex(),
                            span_id=span_id,
                            name=span.name,
                            attributes=attributes(span.attributes),
                            resource=resource,
                            end_unix_nano=span.end_time_unix_nano,
                            received_unix_nano=now,
                        )

    def count(self) -> int:
        with self._lock:
            return len(self.spans)

    def wait_for(self, expected: int, timeout: float) -> int:
        """Wait (bounded) until ``expected`` distinct spans arrived; returns how many did."""
        deadline = time.monotonic() + timeout
        while self.count() < expected and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.count()

    def start(self) -> OtlpSink:
        if self.running:
            return self
        if self.protocol == "grpc":
            self._start_grpc()
        else:
            self._start_http()
        return self

    def _start_grpc(self) -> None:
        sink = self

        class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request: Any, context: Any) -> trace_service_pb2.ExportTraceServiceResponse:
                sink.record(request)
                return trace_service_pb2.ExportTraceServiceResponse()

        # so_reuseport off: a restarted sink must own its port alone, never share it with a stale one.
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=8),
            options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 64 * 1024 * 1024)],
        )
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(), server)
        if server.add_insecure_port(f"127.0.0.1:{self.port}") != self.port:
            raise OSError(f"sink cannot bind 127.0.0.1:{self.port}")
        server.start()
        self._grpc = server

    def _start_http(self) -> None:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path != "/v1/traces" or "protobuf" not in self.headers.get("Content-Type", ""):
                    self.send_response(400)
                    self.end_headers()
                    return
                sink.record(trace_service_pb2.ExportTraceServiceRequest.FromString(body))
                reply = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._http.daemon_threads = True
        self._http_thread = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.1})
        self._http_thread.start()

    def stop(self) -> None:
        """Stop listening now (in-flight exports fail, as they would against a dead Tempo)."""
        if self._grpc is not None:
            self._grpc.stop(grace=None).wait(5)
            self._grpc = None
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            if self._http_thread is not None:
                self._http_thread.join(5)
            self._http = None

    def __enter__(self) -> OtlpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
