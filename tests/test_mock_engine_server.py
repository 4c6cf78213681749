"""The mock engine for real: the script in a subprocess on 127.0.0.1, driven by the openai client.

A tiny OTLP/HTTP receiver on 127.0.0.1 stands in for the collector and keeps what the mock
exports, so the GenAI attributes and trace-context propagation are checked on the wire format.
Every loop is bounded and every process and server is stopped.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.conftest import free_port

SCRIPT = Path(__file__).resolve().parent.parent / "apps" / "mock_engine" / "mock_engine_server.py"
MODEL = "test-model"
TOKENS_PER_SECOND = 40.0


@dataclass
class OtlpReceiver:
    """Collects the spans POSTed to /v1/traces (OTLP/HTTP JSON)."""

    server: ThreadingHTTPServer
    spans: list[dict[str, Any]] = field(default_factory=list)
    resources: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [s for s in list(self.spans) if predicate(s)]
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no matching span within {timeout}s; got {[s.get('name') for s in self.spans]}")


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    holder: dict[str, OtlpReceiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received = holder["r"]
            received.paths.append(self.path)
            received.authorizations.append(self.headers.get("Authorization"))
            for resource_spans in body["resourceSpans"]:
                received.resources.append(resource_spans["resource"])
                for scope in resource_spans["scopeSpans"]:
                    received.spans.extend(scope["spans"])
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["r"] = OtlpReceiver(server)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield holder["r"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)



def start_mock(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT)],
        env={"PATH": os.environ.get("PATH", ""), "HOST": "127.0.0.1", "PORT": str(port), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"mock engine exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                connection.close()
                return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    stop(process)
    raise AssertionError("mock engine did not become healthy within 15s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
    if process.stderr:
        process.stderr.close()


@pytest.fixture(scope="module")
def mock_url(receiver: OtlpReceiver) -> Iterator[str]:
    process, url = start_mock(
        {
            "MOCK_MODEL": MODEL,
            "MOCK_TOKENS_PER_SECOND": str(TOKENS_PER_SECOND),
            "MOCK_MAX_TOKENS": "12",
            "MOCK_ACCESS_LOG": "false",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_SERVICE_NAME": "mock-under-test",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test",
            # As the platform sets it with tracing.otlpAuth: the SDK form, value URL-encoded.
            "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20test-token",
        }
    )
    try:
        yield url
    finally:
        stop(process)
    assert process.returncode == 0, "SIGTERM must stop the server cleanly"


@pytest.fixture
def client(mock_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{mock_url}/v1", api_key="unused", max_retries=0, timeout=20)


def attributes(span: dict[str, Any]) -> dict[str, Any]:
    def value(v: dict[str, Any]) -> Any:
        if "arrayValue" in v:
            return [value(x) for x in v["arrayValue"].get("values", [])]
        ((kind, raw),) = v.items()
        return int(raw) if kind == "intValue" else raw

    return {a["key"]: value(a["value"]) for a in span.get("attributes", [])}


def get(url: str) -> tuple[int, str, str]:
    host, port = url.removeprefix("http://").split("/")[0].split(":")
    path = "/" + url.removeprefix("http://").split("/", 1)[1]
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.request("GET", path)
    response = connection.getresponse()
    result = response.status, response.getheader("Content-Type") or "", response.read().decode()
    connection.close()
    return result


def parse_prometheus(text: str) -> dict[str, float]:
    """Sample lines -> value, keyed by the series as written; fails on any malformed line."""
    samples: dict[str, float] = {}
    pattern = re.compile(
        r'^([a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})?) (\S+)$'
    )
    for line in text.splitlines():
        if not line or line.startswith("#"):
            assert re.match(r"^(# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+)?$", line), line
            continue
        match = pattern.match(line)
        assert match, f"not a Prometheus sample line: {line!r}"
        samples[match.group(1)] = float(match.group(4))
    return samples


# ---------------------------------------------------------------------------------------------


def test_chat_completion_answers_with_usage(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "one two three"}])
    assert reply.model == MODEL
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == 3
    assert reply.usage.completion_tokens == 12 == len((reply.choices[0].message.content or "").split())


def test_max_tokens_cuts_the_reply(client: openai.OpenAI) -> None:
    reply = client.completions.create(model=MODEL, prompt="say something", max_tokens=4)
    assert len(reply.choices[0].text.split()) == 4
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None and reply.usage.completion_tokens == 4


def test_chat_stream_arrives_incrementally(client: openai.OpenAI) -> None:
    arrivals: list[tuple[float, str]] = []
    usage = None
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "stream please"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append((time.monotonic(), chunk.choices[0].delta.content))
    assert len(arrivals) == 12
    assert "".join(text for _, text in arrivals).split() == [text.strip() for _, text in arrivals]
    # Tokens come one at a time at the configured rate, not as one buffered burst at the end.
    spread = arrivals[-1][0] - arrivals[0][0]
    assert spread >= 0.5 * 11 / TOKENS_PER_SECOND, f"chunks arrived together (spread {spread:.3f}s)"
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(arrivals)]
    assert sum(1 for gap in gaps if gap > 0.25 / TOKENS_PER_SECOND) >= len(gaps) // 2
    assert usage is not None and usage.completion_tokens == 12 and usage.prompt_tokens == 2


def test_completion_stream(client: openai.OpenAI) -> None:
    pieces = [c.choices[0].text for c in client.completions.create(model=MODEL, prompt="x", stream=True, max_tokens=5)]
    assert len("".join(pieces).split()) == 5


def test_unknown_model_is_a_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])


def test_models_and_health(client: openai.OpenAI, mock_url: str) -> None:
    assert [m.id for m in client.models.list()] == [MODEL]
    status, _, _ = get(f"{mock_url}/health")
    assert status == 200


def test_metrics_parse_and_count(client: openai.OpenAI, mock_url: str) -> None:
    def snapshot() -> dict[str, float]:
        status, content_type, text = get(f"{mock_url}/metrics")
        assert status == 200 and content_type.startswith("text/plain")
        return parse_prometheus(text)

    label = f'model_name="{MODEL}"'
    before = snapshot()
    client.completions.create(model=MODEL, prompt="a b c d", max_tokens=3)
    after = snapshot()
    assert after[f"vllm:prompt_tokens_total{{{label}}}"] - before[f"vllm:prompt_tokens_total{{{label}}}"] == 4
    assert after[f"vllm:generation_tokens_total{{{label}}}"] - before[f"vllm:generation_tokens_total{{{label}}}"] == 3
    count = f"vllm:e2e_request_latency_seconds_count{{{label}}}"
    assert after[count] - before.get(count, 0) == 1
    assert after[f'vllm:e2e_request_latency_seconds_bucket{{{label},le="+Inf"}}'] == after[count]
    assert after[f'vllm:request_success_total{{{label},finished_reason="length"}}'] >= 1
    assert after[f"vllm:num_requests_running{{{label}}}"] == 0
    # Three tokens: two inter-token latencies (vLLM observes each), one per-request mean.
    for name, observations in (("inter_token_latency_seconds", 2), ("time_per_output_token_seconds", 2),
                               ("request_time_per_output_token_seconds", 1)):
        series = f"vllm:{name}_count{{{label}}}"
        assert after[series] - before.get(series, 0) == observations, name
    assert after['http_requests_total{handler="/v1/completions",method="POST",status="2xx"}'] >= 1


def test_streamed_inter_token_latencies_are_measured(client: openai.OpenAI, mock_url: str) -> None:
    label = f'model_name="{MODEL}"'
    names = ("inter_token_latency_seconds", "time_per_output_token_seconds")
    before = parse_prometheus(get(f"{mock_url}/metrics")[2])
    stream = client.completions.create(model=MODEL, prompt="x", max_tokens=6, stream=True)
    assert len([c for c in stream if c.choices and c.choices[0].text]) == 6
    after = parse_prometheus(get(f"{mock_url}/metrics")[2])

    def delta(series: str) -> float:
        return after[series] - before.get(series, 0)

    # Six tokens, five gaps, each a sleep of one token's time: vLLM's per-token view, in both names.
    for name in names:
        assert delta(f"vllm:{name}_count{{{label}}}") == 5, name
        mean = delta(f"vllm:{name}_sum{{{label}}}") / 5
        assert 1 / TOKENS_PER_SECOND <= mean < 3 / TOKENS_PER_SECOND, (name, mean)
    assert delta(f"vllm:request_time_per_output_token_seconds_count{{{label}}}") == 1


def test_a_client_gone_mid_stream_is_counted_once_as_aborted(mock_url: str) -> None:
    """The reply is counted before its last bytes leave; a client that leaves earlier is not a finished
    request: no latency observed, the running gauge back to zero, one 4xx (499) HTTP status."""
    label = f'model_name="{MODEL}"'
    aborted = 'http_requests_total{handler="/v1/completions",method="POST",status="4xx"}'
    before = parse_prometheus(get(f"{mock_url}/metrics")[2])
    host, port = mock_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    body = {"model": MODEL, "prompt": "x", "max_tokens": 400, "stream": True}  # 10 s at 40 tokens/s
    connection.request("POST", "/v1/completions", json.dumps(body), {"Content-Type": "application/json"})
    response = connection.getresponse()
    assert response.status == 200 and response.fp is not None
    assert response.fp.readline()  # the first chunk arrived: the server is streaming
    connection.sock.close()  # type: ignore[union-attr]
    connection.close()
    deadline = time.monotonic() + 8
    after = before
    while time.monotonic() < deadline and after.get(aborted, 0) == before.get(aborted, 0):
        time.sleep(0.1)
        after = parse_prometheus(get(f"{mock_url}/metrics")[2])
    assert after.get(aborted, 0) - before.get(aborted, 0) == 1
    e2e = f"vllm:e2e_request_latency_seconds_count{{{label}}}"
    assert after.get(e2e, 0) == before.get(e2e, 0), "an aborted request is not a finished one"
    assert after[f"vllm:num_requests_running{{{label}}}"] == 0


def test_span_carries_genai_attributes_and_parent_trace(client: openai.OpenAI, receiver: OtlpReceiver) -> None:
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "trace me please"}],
        max_tokens=5,
        extra_headers={"traceparent": f"00-{trace_id}-{parent_id}-01"},
    )
    (span,) = receiver.wait_for(lambda s: s["traceId"] == trace_id)
    assert span["parentSpanId"] == parent_id
    assert span["kind"] == 2 and span["name"] == f"chat {MODEL}"
    attrs = attributes(span)
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.request.model"] == attrs["gen_ai.response.model"] == MODEL
    assert attrs["gen_ai.usage.input_tokens"] == 3
    assert attrs["gen_ai.usage.output_tokens"] == 5
    assert attrs["gen_ai.request.max_tokens"] == 5
    assert attrs["gen_ai.response.finish_reasons"] == ["length"]
    assert attrs["gen_ai.provider.name"] == "mock"
    assert int(span["endTimeUnixNano"]) > int(span["startTimeUnixNano"])
    assert "/v1/traces" in receiver.paths
    assert set(receiver.authorizations) == {"Bearer test-token"}, "the collector's token goes with every export"
    resource = {a["key"]: a["value"]["stringValue"] for a in receiver.resources[0]["attributes"]}
    assert resource["service.name"] == "mock-under-test"
    assert resource["deployment.environment"] == "test"


def test_span_without_parent_starts_a_trace_and_errors_are_marked(
    client: openai.OpenAI, receiver: OtlpReceiver
) -> None:
    with pytest.raises(openai.NotFoundError):
        client.completions.create(model="missing-model", prompt="x")
    (span,) = receiver.wait_for(lambda s: attributes(s).get("gen_ai.request.model") == "missing-model")
    assert "parentSpanId" not in span and len(span["traceId"]) == 32
    assert span["status"]["code"] == 2
    assert attributes(span)["http.response.status_code"] == 404


def test_unsampled_parent_exports_nothing(client: openai.OpenAI, receiver: OtlpReceiver) -> None:
    trace_id = secrets.token_hex(16)
    client.completions.create(
        model=MODEL, prompt="quiet", max_tokens=1, extra_headers={"traceparent": f"00-{trace_id}-{'1' * 16}-00"}
    )
    marker = secrets.token_hex(16)  # a sampled request after it: once its span is in, the first one would be too
    client.completions.create(
        model=MODEL, prompt="loud", max_tokens=1, extra_headers={"traceparent": f"00-{marker}-{'2' * 16}-01"}
    )
    receiver.wait_for(lambda s: s["traceId"] == marker)
    assert not [s for s in receiver.spans if s["traceId"] == trace_id]


def test_without_endpoint_nothing_is_exported(receiver: OtlpReceiver) -> None:
    process, url = start_mock({"MOCK_MODEL": MODEL, "MOCK_TOKENS_PER_SECOND": "1000", "MOCK_ACCESS_LOG": "false"})
    try:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=10)
        trace_id = secrets.token_hex(16)
        client.completions.create(
            model=MODEL, prompt="x", max_tokens=1, extra_headers={"traceparent": f"00-{trace_id}-{'3' * 16}-01"}
        )
    finally:
        stop(process)
    time.sleep(0.3)
    assert not [s for s in receiver.spans if s["traceId"] == trace_id]
