"""A CPU-only, OpenAI-compatible stand-in for vLLM: standard library only, one file.

Runs unchanged on a laptop (``python apps/mock_engine/mock_engine_server.py``) and in the cluster,
where a stock Python image runs it from a ConfigMap. It answers like an engine would, so the
whole platform (gateway, LiteLLM, tracing, dashboards, alerts) works without a GPU:

* ``POST /v1/chat/completions`` and ``POST /v1/completions``, streamed (SSE) or not; the reply
  is ``MOCK_MAX_TOKENS`` words of deterministic filler (``finish_reason: stop``), cut short by a
  smaller ``max_tokens`` (``length``), one word per token at ``MOCK_TOKENS_PER_SECOND``. Token
  counts are whitespace-split words; an unknown model is a 404, as on vLLM.
* ``GET /v1/models``, ``GET /health``, ``GET /metrics`` (Prometheus text format).
* One OpenTelemetry SERVER span per inference request with the GenAI semantic conventions
  (``gen_ai.provider.name``/``gen_ai.system`` = ``mock``, request/response model, usage), exported as OTLP/HTTP
  JSON to ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_ENDPOINT`` + ``/v1/traces``
  (no export when neither is set), with the headers of ``OTEL_EXPORTER_OTLP_TRACES_HEADERS`` or
  ``OTEL_EXPORTER_OTLP_HEADERS`` (``key=value`` pairs, comma-separated, values URL-encoded: e.g. the
  collector's bearer token), service name from ``OTEL_SERVICE_NAME``. An incoming W3C
  ``traceparent`` makes the span its child, so a caller's trace continues here.

Metric names are vLLM's (``vllm:`` prefix, ``model_name`` label) for the series the mock can
produce honestly (tokens, finished requests, running/waiting, latency histograms), so the engine
dashboard and alert rules work on both stacks unchanged; there is no KV cache, so no
``vllm:kv_cache_usage_perc``. ``http_requests_total`` follows vLLM's HTTP instrumentation.

Environment: ``PORT`` (8000), ``HOST`` (0.0.0.0), ``MOCK_MODEL`` (mock-llm),
``MOCK_TOKENS_PER_SECOND`` (50), ``MOCK_MAX_TOKENS`` (32), ``MOCK_ACCESS_LOG`` (true), ``OTEL_*`` as above.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import re
import secrets
import signal
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_FILLER_TEXT = (
    "this is a mock response from the llm tracing platform so every layer can be exercised "
    "without a gpu and every request is traced measured and logged end to end"
)
FILLER = tuple(_FILLER_TEXT.split(" "))

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 60.0, 120.0)
TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)
ITL_BUCKETS = (
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
)
"""vLLM 0.11's bounds for its inter-token and per-output-token histograms, so quantiles read alike."""
Counted = Callable[[list[float]], None]
"""Records a finished request from when each of its tokens left; called before the reply's last bytes."""
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def env_float(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


# ---------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------


class Histogram:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * len(buckets)
        self.total = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
        self.total += 1
        self.sum += value

    def lines(self, name: str, labels: str) -> list[str]:
        pairs = zip(self.buckets, self.counts, strict=True)
        out = [f'{name}_bucket{{{labels},le="{bound}"}} {count}' for bound, count in pairs]
        out.append(f'{name}_bucket{{{labels},le="+Inf"}} {self.total}')
        out.append(f"{name}_sum{{{labels}}} {self.sum}")
        out.append(f"{name}_count{{{labels}}} {self.total}")
        return out


class Metrics:
    """Counters and histograms behind one lock; rendered in the Prometheus text format."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.lock = threading.Lock()
        self.running = 0
        self.prompt_tokens = 0
        self.generation_tokens = 0
        self.success: dict[str, int] = {}
        self.http: dict[tuple[str, str, str], int] = {}
        self.e2e = Histogram(LATENCY_BUCKETS)
        self.ttft = Histogram(TTFT_BUCKETS)
        self.queue = Histogram(LATENCY_BUCKETS)
        self.itl = Histogram(ITL_BUCKETS)
        self.request_tpot = Histogram(ITL_BUCKETS)

    def started(self) -> None:
        with self.lock:
            self.running += 1

    def finished(self, prompt: int, token_times: list[float], reason: str, e2e: float) -> None:
        """One finished request; ``token_times`` are the seconds from its start at which each token left."""
        gaps = [later - earlier for earlier, later in itertools.pairwise(token_times)]
        with self.lock:
            self.running -= 1
            self.prompt_tokens += prompt
            self.generation_tokens += len(token_times)
            self.success[reason] = self.success.get(reason, 0) + 1
            self.ttft.observe(token_times[0] if token_times else e2e)
            for gap in gaps:  # like vLLM: every inter-token latency, one observation each
                self.itl.observe(gap)
            if gaps:
                self.request_tpot.observe(sum(gaps) / len(gaps))
            self.e2e.observe(e2e)
            self.queue.observe(0.0)  # requests never queue here

    def aborted(self) -> None:
        with self.lock:
            self.running -= 1

    def http_request(self, handler: str, method: str, status: int) -> None:
        key = (handler, method, f"{status // 100}xx")
        with self.lock:
            self.http[key] = self.http.get(key, 0) + 1

    def render(self) -> str:
        model = f'model_name="{self.model}"'
        with self.lock:
            out = [
                "# HELP vllm:num_requests_running Number of requests being generated.",
                "# TYPE vllm:num_requests_running gauge",
                f"vllm:num_requests_running{{{model}}} {self.running}",
                "# HELP vllm:num_requests_waiting Number of requests waiting (always 0: the mock never queues).",
                "# TYPE vllm:num_requests_waiting gauge",
                f"vllm:num_requests_waiting{{{model}}} 0",
                "# HELP vllm:prompt_tokens_total Prompt tokens processed.",
                "# TYPE vllm:prompt_tokens_total counter",
                f"vllm:prompt_tokens_total{{{model}}} {self.prompt_tokens}",
                "# HELP vllm:generation_tokens_total Generation tokens produced.",
                "# TYPE vllm:generation_tokens_total counter",
                f"vllm:generation_tokens_total{{{model}}} {self.generation_tokens}",
                "# HELP vllm:request_success_total Finished requests by finish reason.",
                "# TYPE vllm:request_success_total counter",
            ]
            for reason in sorted(self.success):
                out.append(f'vllm:request_success_total{{{model},finished_reason="{reason}"}} {self.success[reason]}')
            for name, help_text, histogram in (
                ("vllm:e2e_request_latency_seconds", "End-to-end request latency.", self.e2e),
                ("vllm:time_to_first_token_seconds", "Time to first token.", self.ttft),
                ("vllm:request_queue_time_seconds", "Time spent waiting in the queue.", self.queue),
                ("vllm:inter_token_latency_seconds", "Inter-token latency.", self.itl),
                # vLLM 0.11 still exposes the deprecated name, fed the same observations.
                ("vllm:time_per_output_token_seconds", "Deprecated: use vllm:inter_token_latency_seconds.", self.itl),
                ("vllm:request_time_per_output_token_seconds", "Mean time per output token of each request.",
                 self.request_tpot),
            ):
                out += [f"# HELP {name} {help_text}", f"# TYPE {name} histogram", *histogram.lines(name, model)]
            out += [
                "# HELP http_requests_total HTTP requests by handler, method and status class.",
                "# TYPE http_requests_total counter",
            ]
            for (handler, method, status), count in sorted(self.http.items()):
                out.append(f'http_requests_total{{handler="{handler}",method="{method}",status="{status}"}} {count}')
        return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# Tracing: OTLP/HTTP JSON, exported off the request path
# ---------------------------------------------------------------------------------------------


def otlp_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}  # OTLP JSON encodes 64-bit integers as strings
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [otlp_value(v) for v in value]}}
    return {"stringValue": str(value)}


def otlp_attributes(attributes: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": otlp_value(v)} for k, v in attributes.items() if v is not None]


def traces_endpoint() -> str | None:
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return None
    explicit = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if explicit:
        return explicit
    base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    return base.rstrip("/") + "/v1/traces" if base else None


def export_headers() -> dict[str, str]:
    """The OTLP exporter headers of the environment, decoded as the OTLP exporter specification says."""
    raw = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS") or os.environ.get("OTEL_EXPORTER_OTLP_HEADERS", "")
    headers = {}
    for pair in raw.split(","):
        key, sep, value = pair.partition("=")
        if sep and key.strip():
            headers[urllib.parse.unquote(key.strip()).lower()] = urllib.parse.unquote(value.strip())
    return headers


def resource_attributes() -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for pair in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        key, sep, value = pair.partition("=")
        if sep and key.strip():
            attributes[key.strip()] = value.strip()
    attributes["service.name"] = os.environ.get("OTEL_SERVICE_NAME") or attributes.get("service.name") or "mock-llm"
    attributes.setdefault("telemetry.sdk.name", "mock-engine")
    attributes.setdefault("telemetry.sdk.language", "python")
    return attributes


class SpanExporter:
    """Batches finished spans and posts them from one thread; a slow collector never slows requests."""

    def __init__(self, endpoint: str | None, batch: int = 64, interval: float = 0.5) -> None:
        self.endpoint = endpoint
        self.batch = batch
        self.interval = interval
        self.spans: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=2048)
        self.resource = {"attributes": otlp_attributes(resource_attributes())}
        self.headers = {**export_headers(), "Content-Type": "application/json"}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name="otlp-exporter", daemon=True)
        if endpoint:
            self.thread.start()

    def submit(self, span: dict[str, Any]) -> None:
        if not self.endpoint:
            return
        try:
            self.spans.put_nowait(span)
        except queue.Full:
            log("span queue full; dropping a span")

    def run(self) -> None:
        while not self.stopping.is_set():
            self.stopping.wait(self.interval)
            self.flush()

    def flush(self) -> None:
        while True:
            pending: list[dict[str, Any]] = []
            while len(pending) < self.batch:
                try:
                    pending.append(self.spans.get_nowait())
                except queue.Empty:
                    break
            if not pending:
                return
            self.post(pending)

    def post(self, spans: list[dict[str, Any]]) -> None:
        assert self.endpoint
        body = {
            "resourceSpans": [
                {
                    "resource": self.resource,
                    "scopeSpans": [{"scope": {"name": "mock-engine", "version": "1"}, "spans": spans}],
                }
            ]
        }
        request = urllib.request.Request(
            self.endpoint, data=json.dumps(body).encode(), headers=self.headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                response.read()
        except OSError as exc:
            log(f"span export to {self.endpoint} failed ({exc}); {len(spans)} span(s) dropped")

    def shutdown(self) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout=5)
        if self.endpoint:
            self.flush()


def log(message: str) -> None:
    print(f"mock-engine: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The OpenAI-compatible API
# ---------------------------------------------------------------------------------------------


class ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str = "BadRequestError") -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind


def count_tokens(text: str) -> int:
    return len(text.split())


def prompt_text(path: str, body: dict[str, Any]) -> str:
    if path == "/v1/chat/completions":
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ApiError(400, "'messages' must be a non-empty list")
        parts = []
        for message in messages:
            content = message.get("content") if isinstance(message, dict) else None
            if isinstance(content, list):  # content parts: keep the text ones
                content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            parts.append(str(content or ""))
        return " ".join(parts)
    prompt = body.get("prompt")
    if isinstance(prompt, list):
        prompt = " ".join(str(p) for p in prompt)
    if not isinstance(prompt, str):
        raise ApiError(400, "'prompt' must be a string")
    return prompt


class Engine:
    def __init__(self) -> None:
        self.model = os.environ.get("MOCK_MODEL", "mock-llm")
        self.tokens_per_second = env_float("MOCK_TOKENS_PER_SECOND", 50.0)
        self.max_tokens = int(env_float("MOCK_MAX_TOKENS", 32))
        self.created = int(time.time())
        self.metrics = Metrics(self.model)
        self.exporter = SpanExporter(traces_endpoint())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-engine/1"
    engine: Engine  # set on the subclass by serve()

    def log_message(self, format: str, *args: Any) -> None:
        quiet = getattr(self, "path", "").split("?", 1)[0] in ("/health", "/metrics")  # probes and scrapes
        if not quiet and os.environ.get("MOCK_ACCESS_LOG", "true").lower() == "true":
            log(f"{self.address_string()} {format % args}")

    # -- plumbing ------------------------------------------------------------------------------

    def send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_text(self, status: int, text: str, content_type: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_error_json(self, error: ApiError) -> None:
        self.send_json(error.status, {"error": {"message": str(error), "type": error.kind, "code": error.status}})

    def write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def read_json(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError as exc:
            raise ApiError(400, f"request body is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise ApiError(400, "request body must be a JSON object")
        return body

    # -- routes --------------------------------------------------------------------------------

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/health":
            self.send_text(200, "", "text/plain")
        elif path == "/metrics":
            self.send_text(200, self.engine.metrics.render(), "text/plain; version=0.0.4; charset=utf-8")
        elif path == "/v1/models":
            card = {"id": self.engine.model, "object": "model", "created": self.engine.created, "owned_by": "mock"}
            self.send_json(200, {"object": "list", "data": [card]})
        else:
            self.send_error_json(ApiError(404, f"no route {path}", "NotFoundError"))
            self.engine.metrics.http_request("other", "GET", 404)  # bounded label values
            return
        self.engine.metrics.http_request(path, "GET", 200)

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        if path not in ("/v1/chat/completions", "/v1/completions"):
            self.send_error_json(ApiError(404, f"no route {path}", "NotFoundError"))
            self.engine.metrics.http_request("other", "POST", 404)
            return
        self.complete(path)

    def complete(self, path: str) -> None:
        """Answer one completion request inside its span.

        The request is counted (engine metrics, HTTP status) before its last bytes leave, so a client
        that holds the whole reply already finds it in ``/metrics``.
        """
        span = RequestSpan(self, path)
        try:
            body = self.read_json()
            span.request(body)
            requested = body.get("model")
            if requested != self.engine.model:
                raise ApiError(404, f"The model `{requested}` does not exist.", "NotFoundError")
            prompt_tokens = count_tokens(prompt_text(path, body))
            limit = body.get("max_completion_tokens") or body.get("max_tokens") or self.engine.max_tokens
            if not isinstance(limit, int) or limit < 1:
                raise ApiError(400, "'max_tokens' must be a positive integer")
        except ApiError as error:
            self.engine.metrics.http_request(path, "POST", error.status)
            self.send_error_json(error)
            span.end(error.status, error=error)
            return
        # The "natural" reply has MOCK_MAX_TOKENS words; a smaller max_tokens cuts it, as on a real engine.
        words = [FILLER[i % len(FILLER)] for i in range(min(limit, self.engine.max_tokens))]
        reason = "length" if limit < self.engine.max_tokens else "stop"
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(words),
            "total_tokens": prompt_tokens + len(words),
        }
        completion_id = ("chatcmpl-" if path == "/v1/chat/completions" else "cmpl-") + secrets.token_hex(12)
        span.response(completion_id, usage, reason)
        self.engine.metrics.started()
        start = time.monotonic()
        counted = False

        def count(token_times: list[float]) -> None:
            nonlocal counted
            self.engine.metrics.finished(prompt_tokens, token_times, reason, time.monotonic() - start)
            self.engine.metrics.http_request(path, "POST", 200)
            counted = True

        try:
            if body.get("stream"):
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                self.stream(path, completion_id, words, reason, usage if include_usage else None, count)
            else:
                self.respond(path, completion_id, words, reason, usage, count)
        except OSError as exc:  # client went away mid-stream
            if not counted:  # gone before its reply was generated: not a finished request
                self.engine.metrics.aborted()
                self.engine.metrics.http_request(path, "POST", 499)
            span.end(499, error=ApiError(499, f"client disconnected: {exc}", "ClientDisconnected"))
            self.close_connection = True
            return
        span.end(200)

    def respond(
        self, path: str, cid: str, words: list[str], reason: str, usage: dict[str, int], count: Counted
    ) -> None:
        """Send the whole reply at once, after generating it; ``count`` gets when each token was generated."""
        time.sleep(len(words) / self.engine.tokens_per_second)
        count([(i + 1) / self.engine.tokens_per_second for i in range(len(words))])
        text = " ".join(words)
        if path == "/v1/chat/completions":
            choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": text}}
            kind = "chat.completion"
        else:
            choice = {"index": 0, "text": text, "logprobs": None}
            kind = "text_completion"
        choice["finish_reason"] = reason
        payload = {
            "id": cid,
            "object": kind,
            "created": int(time.time()),
            "model": self.engine.model,
            "choices": [choice],
            "usage": usage,
        }
        self.send_json(200, payload)

    def stream(
        self, path: str, cid: str, words: list[str], reason: str, usage: dict[str, int] | None, count: Counted
    ) -> None:
        """Send one SSE event per token; ``count`` gets when each token left (seconds from the start)
        before the final event."""
        chat = path == "/v1/chat/completions"
        kind = "chat.completion.chunk" if chat else "text_completion"
        created = int(time.time())
        start = time.monotonic()
        token_times: list[float] = []

        def event(choices: list[dict[str, Any]], **extra: Any) -> None:
            chunk = {"id": cid, "object": kind, "created": created, "model": self.engine.model, "choices": choices}
            self.write_chunk(b"data: " + json.dumps({**chunk, **extra}).encode() + b"\n\n")

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if chat:
            event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        for i, word in enumerate(words):
            time.sleep(1 / self.engine.tokens_per_second)
            piece = word if i == 0 else " " + word
            delta: dict[str, Any] = {"delta": {"content": piece}} if chat else {"text": piece, "logprobs": None}
            event([{"index": 0, **delta, "finish_reason": None}])
            token_times.append(time.monotonic() - start)
        count(token_times)
        final: dict[str, Any] = {"delta": {}} if chat else {"text": "", "logprobs": None}
        event([{"index": 0, **final, "finish_reason": reason}])
        if usage is not None:
            event([], usage=usage)
        self.write_chunk(b"data: [DONE]\n\n")
        self.write_chunk(b"")


class RequestSpan:
    """The SERVER span of one inference request, with GenAI semantic-convention attributes."""

    def __init__(self, handler: Handler, path: str) -> None:
        self.handler = handler
        self.start_ns = time.time_ns()
        self.operation = "chat" if path == "/v1/chat/completions" else "text_completion"
        self.trace_id = secrets.token_hex(16)
        self.parent_id = ""
        self.sampled = True
        match = TRACEPARENT.match(handler.headers.get("traceparent", "").strip().lower())
        if match and match.group(1) != "0" * 32 and match.group(2) != "0" * 16:
            self.trace_id, self.parent_id = match.group(1), match.group(2)
            self.sampled = bool(int(match.group(3), 16) & 1)  # parent-based sampling
        self.span_id = secrets.token_hex(8)
        self.attributes: dict[str, Any] = {
            "gen_ai.operation.name": self.operation,
            "gen_ai.provider.name": "mock",
            "gen_ai.system": "mock",
            "gen_ai.request.model": None,
            "http.request.method": "POST",
            "url.path": path,
            "server.address": handler.headers.get("Host", "").split(":")[0] or None,
            "server.port": handler.server.server_address[1],  # type: ignore[index]
        }

    def request(self, body: dict[str, Any]) -> None:
        self.attributes["gen_ai.request.model"] = body.get("model")
        for key, attribute in (
            ("max_tokens", "gen_ai.request.max_tokens"),
            ("temperature", "gen_ai.request.temperature"),
            ("top_p", "gen_ai.request.top_p"),
            ("seed", "gen_ai.request.seed"),
        ):
            value = body.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                self.attributes[attribute] = value
        self.attributes["gen_ai.request.stream"] = bool(body.get("stream"))

    def response(self, completion_id: str, usage: dict[str, int], reason: str) -> None:
        self.attributes.update(
            {
                "gen_ai.response.id": completion_id,
                "gen_ai.response.model": self.handler.engine.model,
                "gen_ai.response.finish_reasons": [reason],
                "gen_ai.usage.input_tokens": usage["prompt_tokens"],
                "gen_ai.usage.output_tokens": usage["completion_tokens"],
            }
        )

    def end(self, status: int, error: ApiError | None = None) -> None:
        if not self.sampled:
            return
        self.attributes["http.response.status_code"] = status
        span_status: dict[str, Any] = {"code": 0}
        if error is not None:
            self.attributes["error.type"] = error.kind
            span_status = {"code": 2, "message": str(error)}
        model = self.attributes.get("gen_ai.request.model")
        span: dict[str, Any] = {
            "traceId": self.trace_id,
            "spanId": self.span_id,
            "name": f"{self.operation} {model}" if model else self.operation,
            "kind": 2,  # SERVER
            "startTimeUnixNano": str(self.start_ns),
            "endTimeUnixNano": str(time.time_ns()),
            "attributes": otlp_attributes(self.attributes),
            "status": span_status,
        }
        if self.parent_id:
            span["parentSpanId"] = self.parent_id
        self.handler.engine.exporter.submit(span)


def serve() -> None:
    engine = Engine()
    handler = type("BoundHandler", (Handler,), {"engine": engine})
    server = ThreadingHTTPServer((os.environ.get("HOST", "0.0.0.0"), int(os.environ.get("PORT", "8000"))), handler)
    server.daemon_threads = True

    def stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    log(f"serving {engine.model} on {host!s}:{port}; spans to {engine.exporter.endpoint or 'nowhere'}")
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        engine.exporter.shutdown()
        log("stopped")


if __name__ == "__main__":
    serve()
