"""Test spans: OTLP/HTTP JSON built by hand (standard library), OTLP/gRPC when grpcio is installed.

Each span carries a fresh random trace id, which is what the checks then look up in Tempo.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from verify.gateway import Gateway, authority

SERVICE_NAME = "llm-tracing-infra-verify"


def new_trace_id() -> str:
    return secrets.token_hex(16)


def new_span_id() -> str:
    return secrets.token_hex(8)


def traceparent(trace_id: str, span_id: str) -> str:
    """W3C trace context header, sampled: the callee's spans join ``trace_id``."""
    return f"00-{trace_id}-{span_id}-01"


def span_json(trace_id: str, span_id: str, name: str) -> dict[str, object]:
    """One finished span as an OTLP/JSON ExportTraceServiceRequest (ids hex, times as strings)."""
    end = time.time_ns()
    return {
        "resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": SERVICE_NAME}}]},
            "scopeSpans": [{
                "scope": {"name": "verify"},
                "spans": [{
                    "traceId": trace_id,
                    "spanId": span_id,
                    "name": name,
                    "kind": 1,
                    "startTimeUnixNano": str(end - 1_000_000),
                    "endTimeUnixNano": str(end),
                    "attributes": [{"key": "verify.check", "value": {"stringValue": name}}],
                }],
            }],
        }]
    }


def auth_headers(token: str | None) -> dict[str, str]:
    """The collector's bearer token (``tracing.otlpAuth``) as the header it asks for; none without one."""
    return {"authorization": f"Bearer {token}"} if token else {}


def send_http(gateway: Gateway, trace_id: str, name: str, token: str | None = None) -> str | None:
    """POST one span to ``/v1/traces`` (with the collector's token when given); None when accepted, else why not."""
    try:
        response = gateway.json_request("POST", gateway.address, "/v1/traces", span_json(trace_id, new_span_id(), name),
                                        auth_headers(token))
    except OSError as exc:
        return f"cannot reach {gateway.url(gateway.address, '/v1/traces')}: {exc}"
    if response.status != 200:
        return f"{gateway.url(gateway.address, '/v1/traces')} answered {response.status}: {response.text()}"
    return None


GrpcSender = Callable[[str, int, str, str, float, str | None], str | None]


def grpc_sender() -> tuple[GrpcSender | None, str]:
    """The gRPC exporter, or None and the reason (grpcio/opentelemetry-proto missing)."""
    try:
        import grpc
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
        from opentelemetry.proto.common.v1 import common_pb2
        from opentelemetry.proto.resource.v1 import resource_pb2
        from opentelemetry.proto.trace.v1 import trace_pb2
    except ImportError as exc:
        return None, f"grpcio and opentelemetry-proto are needed for OTLP/gRPC ({exc})"

    def send(address: str, port: int, trace_id: str, name: str, timeout: float, token: str | None) -> str | None:
        end = time.time_ns()
        span = trace_pb2.Span(
            trace_id=bytes.fromhex(trace_id), span_id=bytes.fromhex(new_span_id()), name=name,
            kind=trace_pb2.Span.SPAN_KIND_INTERNAL, start_time_unix_nano=end - 1_000_000, end_time_unix_nano=end,
        )
        service = common_pb2.KeyValue(key="service.name", value=common_pb2.AnyValue(string_value=SERVICE_NAME))
        request = trace_service_pb2.ExportTraceServiceRequest(resource_spans=[trace_pb2.ResourceSpans(
            resource=resource_pb2.Resource(attributes=[service]),
            scope_spans=[trace_pb2.ScopeSpans(spans=[span])],
        )])
        target = authority(address, port)
        with grpc.insecure_channel(target) as channel:
            export = channel.unary_unary(
                "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                request_serializer=trace_service_pb2.ExportTraceServiceRequest.SerializeToString,
                response_deserializer=trace_service_pb2.ExportTraceServiceResponse.FromString,
            )
            try:
                export(request, timeout=timeout, metadata=tuple(auth_headers(token).items()))
            except grpc.RpcError as exc:
                return f"OTLP/gRPC export to {target} failed: {exc.code().name} {exc.details()}"
        return None

    return send, ""
