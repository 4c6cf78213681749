"""OTLP auth on the real collector: the gpu stack's generated config (``tracing.otlpAuth`` on) refuses spans
without the token on both protocols, takes every span that carries it, and takes the mesh's spans on its
receiver without a token.

The collector runs the config the offline preview hands the chart, addresses rewritten only
(``collector.localize``), with a token of this run in the environment variable the config names.
Refused spans are sent one request at a time (so the refusal is the answer to that request);
accepted ones in bulk through the OpenTelemetry SDK, and counted span by span in the sinks.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from pathlib import Path

from components import tracing_pipeline
from offline.plan import Plan
from tests.pipeline.collector import chart_values, effective_config, running_pipeline
from tests.pipeline.test_pipeline_delivery import bound_for_langfuse, exporter_is_filtered
from tests.pipeline.traffic import OtlpClient, Sent, compare
from verify import otlp

SPANS = 500
"""Spans per protocol with the token."""


def post_http(endpoint: str, trace_id: str, token: str | None) -> int:
    """Status of one OTLP/HTTP JSON export (one span), with ``authorization: Bearer <token>`` when given."""
    request = urllib.request.Request(
        f"{endpoint}/v1/traces", data=json.dumps(otlp.span_json(trace_id, otlp.new_span_id(), "auth-test")).encode(),
        headers={"Content-Type": "application/json", **otlp.auth_headers(token)}, method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def test_receivers_refuse_spans_without_the_token_and_lose_none_with_it(
    collector_binary: Path, tmp_path: Path, gpu_plan: Plan
) -> None:
    config = effective_config(chart_values(gpu_plan))
    assert "bearertokenauth/otlp" in config["extensions"], "the gpu stack runs with tracing.otlpAuth on"
    send_grpc, reason = otlp.grpc_sender()
    assert send_grpc is not None, reason
    token = f"pipeline-{secrets.token_hex(24)}"
    with running_pipeline(collector_binary, config, tmp_path, env={tracing_pipeline.AUTH_TOKEN_ENV: token}) as pipeline:
        collector = pipeline.collector
        assert pipeline.local.client_headers == {"authorization": f"Bearer {token}"}
        grpc_host, grpc_port = collector.otlp_grpc.rsplit(":", 1)

        refused: list[str] = []
        for presented in (None, "wrong-token"):
            trace_id = otlp.new_trace_id()
            error = send_grpc(grpc_host, int(grpc_port), trace_id, "auth-test", 10, presented)
            assert error is not None and "UNAUTHENTICATED" in error, error
            refused.append(trace_id)
            trace_id = otlp.new_trace_id()
            assert post_http(collector.otlp_http, trace_id, presented) == 401
            refused.append(trace_id)

        # Istio's proxies send without a token, to their own receiver.
        mesh_trace = otlp.new_trace_id()
        mesh_host, mesh_port = collector.receiver_endpoint("grpc", "otlp/mesh").rsplit(":", 1)
        assert send_grpc(mesh_host, int(mesh_port), mesh_trace, "auth-test mesh", 10, None) is None

        sent = Sent()
        for protocol, endpoint in (("grpc", collector.otlp_grpc), ("http", collector.otlp_http)):
            client = OtlpClient(protocol, endpoint, service=f"auth-test-{protocol}",
                                headers=pipeline.local.client_headers)
            client.send(sent, SPANS, run=f"auth-{protocol}-llm")
            client.send(sent, SPANS, run=f"auth-{protocol}-plain", llm=False)
            client.close()

        for name, sink in pipeline.sinks.items():
            if exporter_is_filtered(config, name):
                expected = sent.subset(bound_for_langfuse)
                withheld = sent.subset(lambda a, s: not bound_for_langfuse(a, s))
            else:
                expected, withheld = sent, Sent()
            sink.wait_for(len(expected), timeout=30)
            if not exporter_is_filtered(config, name):
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and mesh_trace not in {s.trace_id for s in sink.spans.values()}:
                    time.sleep(0.1)
                assert mesh_trace in {s.trace_id for s in sink.spans.values()}, f"{name}: the mesh's span is lost"
            time.sleep(1.5)  # past the batch timeout: a refused span would have arrived by now
            outcome = compare(expected, sink, f"otlp auth -> {name}", withheld=withheld)
            assert outcome.lost == 0 and outcome.wrong_attributes == [] and outcome.leaked == 0
            arrived = {s.trace_id for s in sink.spans.values()}
            assert not arrived & set(refused), f"{name}: a refused span got through"
