"""``python -m verify`` against local stand-ins of the platform, healthy and broken.

The tests start, on 127.0.0.1: a gateway stand-in answering by Host header (Grafana, Prometheus,
a Tempo-API-shaped endpoint, LiteLLM forwarding to the real mock engine), an OTLP/HTTP and an
OTLP/gRPC receiver feeding that Tempo, and ``apps/mock_engine/mock_engine_server.py`` itself, which
exports its spans to the OTLP/HTTP receiver. Then they run the real CLI in a subprocess and
break one thing at a time. Every wait is bounded; every server and process is stopped.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from offline.plan import SECRET, Plan, Resource
from offline.runner import run_program
from tests.conftest import free_port
from tests.support import require_tool

ROOT = Path(__file__).resolve().parent.parent
MOCK_ENGINE = ROOT / "apps" / "mock_engine" / "mock_engine_server.py"
DOMAIN = "local"
LITELLM_KEY = "sk-test-master-key"
GRAFANA_PASSWORD = "test-admin-password"
HOSTS = [f"{h}.{DOMAIN}" for h in ("grafana", "prometheus", "tempo", "litellm", "llm")]
HANG_GUARD = 300
"""Seconds before a verify run counts as hung: far above its own deadlines, even on a loaded CI host."""


def healthy_targets() -> list[dict[str, Any]]:
    def target(job: str, namespace: str, port: int) -> dict[str, Any]:
        return {
            "labels": {"job": job, "service": job, "namespace": namespace, "pod": f"{job}-5d9c7-abcde"},
            "scrapePool": f"serviceMonitor/{namespace}/{job}/0",
            "scrapeUrl": f"http://10.42.0.9:{port}/metrics",
            "health": "up",
            "lastError": "",
        }

    return [
        target("mock-llm", "llm", 8000), target("otel-collector", "tracing", 8888), target("tempo", "tracing", 3200)
    ]


@dataclass
class Platform:
    """The stand-ins' shared state, and the knobs that break them."""

    engine_url: str = ""
    traces: set[str] = field(default_factory=set)
    route_status: dict[str, int] = field(default_factory=dict)
    drop_http_spans: bool = False
    targets: list[dict[str, Any]] = field(default_factory=healthy_targets)
    datasource_health: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)
    unguarded: set[str] = field(default_factory=set)
    """Hosts whose API answers without credentials (a guard that was lost)."""
    otlp_token: str | None = None
    """The receivers ask for this bearer token (the collector with ``tracing.otlpAuth``)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        self.traces.clear()
        self.route_status.clear()
        self.drop_http_spans = False
        self.targets = healthy_targets()
        self.datasource_health.clear()
        self.unguarded.clear()
        self.otlp_token = None

    def record(self, trace_ids: list[str]) -> None:
        with self.lock:
            self.traces.update(trace_ids)



class GatewayHandler(BaseHTTPRequestHandler):
    """Routes by Host header, as the Istio gateway does; unknown hosts get Envoy's 404."""

    platform: Platform

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def reply(self, status: int, payload: Any = None, text: str = "") -> None:
        body = json.dumps(payload).encode() if payload is not None else text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if payload is not None else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.route("GET")

    def do_POST(self) -> None:
        self.route("POST")

    def route(self, method: str) -> None:
        host = self.headers.get("Host", "").split(":")[0]
        if host in self.platform.route_status:
            self.reply(self.platform.route_status[host], text="injected")
            return
        service = host.removesuffix(f".{DOMAIN}")
        handler = getattr(self, f"serve_{service}", None)
        if handler is None:
            self.reply(404)
            return
        handler(method, self.path)

    def serve_grafana(self, method: str, path: str) -> None:
        if path == "/api/health":
            self.reply(200, {"database": "ok"})
            return
        expected = "Basic " + base64.b64encode(f"admin:{GRAFANA_PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != expected and "grafana.local" not in self.platform.unguarded:
            self.reply(401, {"message": "Unauthorized"})
        elif path == "/api/datasources":
            self.reply(200, [{"uid": "prometheus", "name": "Prometheus", "type": "prometheus"},
                             {"uid": "tempo", "name": "Tempo", "type": "tempo"}])
        elif path.startswith("/api/datasources/uid/") and path.endswith("/health"):
            uid = path.split("/")[4]
            status, body = self.platform.datasource_health.get(uid, (200, {"status": "OK", "message": "working"}))
            self.reply(status, body)
        else:
            self.reply(404, {"message": "Not found"})

    def serve_prometheus(self, method: str, path: str) -> None:
        if path == "/-/ready":
            self.reply(200, text="Prometheus Server is Ready.")
        elif path.startswith("/api/v1/targets"):
            self.reply(200, {"status": "success", "data": {"activeTargets": self.platform.targets}})
        else:
            self.reply(404, text="404 page not found")

    def serve_tempo(self, method: str, path: str) -> None:
        if path == "/ready":
            self.reply(200, text="ready")
        elif path.startswith("/api/traces/"):
            trace_id = path.rsplit("/", 1)[1]
            if trace_id in self.platform.traces:
                self.reply(200, {"batches": [{"scopeSpans": [{"spans": [{"traceId": trace_id}]}]}]})
            else:
                self.reply(404, text="trace not found")
        else:
            self.reply(404, text="404 page not found")

    def serve_litellm(self, method: str, path: str) -> None:
        if path == "/health/liveliness":
            self.reply(200, text="I'm alive!")
        elif (self.headers.get("Authorization") != f"Bearer {LITELLM_KEY}"
              and "litellm.local" not in self.platform.unguarded):
            self.reply(401, {"error": {"message": "Authentication Error"}})
        else:
            self.forward(method, path)

    def serve_llm(self, method: str, path: str) -> None:
        self.forward(method, path)

    def forward(self, method: str, path: str) -> None:
        """To the mock engine, with the caller's traceparent: the engine's span joins the trace."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {"Content-Type": "application/json"}
        if self.headers.get("traceparent"):
            headers["traceparent"] = self.headers["traceparent"]
        request = urllib.request.Request(self.platform.engine_url + path, data=body, headers=headers, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            self.reply(response.status, json.loads(response.read()))


class OtlpHttpHandler(BaseHTTPRequestHandler):
    """The collector's OTLP/HTTP receiver, writing straight into the Tempo stand-in."""

    platform: Platform

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        if self.platform.otlp_token and self.headers.get("Authorization") != f"Bearer {self.platform.otlp_token}":
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        trace_ids = [span["traceId"] for rs in payload.get("resourceSpans", [])
                     for ss in rs.get("scopeSpans", []) for span in ss.get("spans", [])]
        if not self.platform.drop_http_spans:
            self.platform.record(trace_ids)
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@dataclass
class Stack:
    platform: Platform
    gateway_port: int
    otlp_http_port: int
    otlp_grpc_port: int


def serve(handler: type[BaseHTTPRequestHandler], platform: Platform,
          tls: ssl.SSLContext | None = None) -> ThreadingHTTPServer:
    bound = type(handler.__name__, (handler,), {"platform": platform})
    server = ThreadingHTTPServer(("127.0.0.1", 0), bound)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    return server


def grpc_receiver(platform: Platform) -> tuple[grpc.Server, int]:
    def export(request: Any, context: Any) -> Any:
        if platform.otlp_token and dict(context.invocation_metadata()).get("authorization") != \
                f"Bearer {platform.otlp_token}":
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or empty authorization header: authorization")
        platform.record([span.trace_id.hex() for rs in request.resource_spans
                         for ss in rs.scope_spans for span in ss.spans])
        return trace_service_pb2.ExportTraceServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        "opentelemetry.proto.collector.trace.v1.TraceService",
        {"Export": grpc.unary_unary_rpc_method_handler(
            export,
            request_deserializer=trace_service_pb2.ExportTraceServiceRequest.FromString,
            response_serializer=trace_service_pb2.ExportTraceServiceResponse.SerializeToString,
        )},
    ),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def wait_until_up(port: int, process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mock engine exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"mock engine not up on port {port} within {timeout}s")


class RedirectHandler(BaseHTTPRequestHandler):
    """Port 80 with HTTPS on: every host gets a 301 to the same path over https."""

    platform: Platform

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(301)
        self.send_header("Location", f"https://{self.headers.get('Host', '').split(':')[0]}{self.path}")
        self.send_header("Content-Length", "0")
        self.end_headers()


@dataclass
class Tls:
    port: int
    redirect_port: int
    server_names: set[str]
    """SNI names the TLS stand-in was asked for."""


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    platform = Platform()
    otlp_http = serve(OtlpHttpHandler, platform)
    grpc_server, grpc_port = grpc_receiver(platform)
    gateway = serve(GatewayHandler, platform)
    engine_port = free_port()
    environment = {
        **os.environ, "HOST": "127.0.0.1", "PORT": str(engine_port), "MOCK_TOKENS_PER_SECOND": "1000",
        "MOCK_ACCESS_LOG": "false", "OTEL_SERVICE_NAME": "mock-llm",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{otlp_http.server_address[1]}/v1/traces",
    }
    engine = subprocess.Popen([sys.executable, str(MOCK_ENGINE)], env=environment, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_until_up(engine_port, engine)
        platform.engine_url = f"http://127.0.0.1:{engine_port}"
        yield Stack(platform, gateway.server_address[1], otlp_http.server_address[1], grpc_port)
    finally:
        engine.terminate()
        try:
            engine.wait(timeout=10)
        except subprocess.TimeoutExpired:
            engine.kill()
            engine.wait(timeout=5)
        gateway.shutdown()
        otlp_http.shutdown()
        grpc_server.stop(grace=None).wait(timeout=5)


@pytest.fixture(scope="module")
def tls(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tls]:
    """The gateway stand-in behind TLS (a throwaway self-signed certificate), beside a redirecting port 80."""
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run([require_tool("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=*.local", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    names: set[str] = set()
    context.sni_callback = lambda _socket, name, _context: names.add(name) if name else None
    secure, redirect = serve(GatewayHandler, stack.platform, context), serve(RedirectHandler, stack.platform)
    try:
        yield Tls(secure.server_address[1], redirect.server_address[1], names)
    finally:
        secure.shutdown()
        redirect.shutdown()


@pytest.fixture
def platform(stack: Stack) -> Iterator[Platform]:
    stack.platform.reset()
    yield stack.platform
    stack.platform.reset()


def run_verify(stack: Stack, *extra: str, timeout: float = 3.0, env: dict[str, str] | None = None,
               ) -> subprocess.CompletedProcess[str]:
    argv = [
        sys.executable, "-m", "verify", "--gateway", "127.0.0.1", "--domain", DOMAIN,
        "--http-port", str(stack.gateway_port), "--otlp-http-port", str(stack.otlp_http_port),
        "--otlp-grpc-port", str(stack.otlp_grpc_port),
        "--target", "engine=mock-llm", "--target", "collector=otel-collector", "--target", "tempo=tempo",
        "--datasource", "prometheus", "--datasource", "tempo",
        "--timeout", str(timeout), "--interval", "0.1", "--request-timeout", "5", *extra,
    ]
    environment = {**os.environ, "LITELLM_MASTER_KEY": LITELLM_KEY, "GRAFANA_ADMIN_PASSWORD": GRAFANA_PASSWORD,
                   **(env or {})}
    return subprocess.run(argv, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=HANG_GUARD)


def lines_for(report: str, status: str) -> list[str]:
    return [line.strip() for line in report.splitlines() if line.strip().startswith(f"{status}  ")]


def test_healthy_platform_passes_every_check(stack: Stack, platform: Platform) -> None:
    result = run_verify(stack, timeout=20)
    assert result.returncode == 0, result.stdout + result.stderr
    passed = "\n".join(lines_for(result.stdout, "PASS"))
    for host in HOSTS:
        assert f"route {host}" in passed
    for check in ("auth grafana.local", "auth litellm.local", "otlp-http", "otlp-grpc", "litellm",
                  "prometheus target engine", "prometheus target collector",
                  "prometheus target tempo", "grafana datasource prometheus", "grafana datasource tempo"):
        assert check in passed, result.stdout
    assert "model mock-llm answered" in passed
    assert "0 failed, 0 skipped" in result.stdout
    assert "401 without credentials, 200 with them" in passed


def test_with_https_every_check_goes_over_tls_and_port_80_redirects(stack: Stack, platform: Platform,
                                                                    tls: Tls) -> None:
    result = run_verify(stack, "--http-port", str(tls.redirect_port), "--https-port", str(tls.port), timeout=20)
    assert result.returncode == 0, result.stdout + result.stderr
    passed = "\n".join(lines_for(result.stdout, "PASS"))
    for host in HOSTS:
        assert f"GET https://127.0.0.1:{tls.port}" in passed and f"route {host}" in passed
    assert "auth litellm.local" in passed and "model mock-llm answered" in passed
    assert set(HOSTS) <= tls.server_names, "each route's hostname in SNI, as the gateway selects by it"


def test_with_https_a_port_80_that_serves_fails(stack: Stack, platform: Platform, tls: Tls) -> None:
    result = run_verify(stack, "--https-port", str(tls.port), "--skip", "otlp-http", "--skip", "otlp-grpc",
                        "--skip", "litellm", "--skip", "prometheus", "--skip", "grafana", "--skip", "auth")
    assert result.returncode == 1
    failed = lines_for(result.stdout, "FAIL")
    assert len(failed) == len(HOSTS), result.stdout
    assert all("-> 200" in line and "want 301 to https://" in line for line in failed), failed


@pytest.mark.parametrize("status", [401, 403])
def test_open_route_refusing_the_client_is_never_a_pass(stack: Stack, platform: Platform, status: int) -> None:
    platform.route_status["prometheus.local"] = status  # e.g. the AuthorizationPolicy refused this address
    result = run_verify(stack, "--skip", "otlp-http", "--skip", "otlp-grpc", "--skip", "litellm",
                        "--skip", "prometheus")
    assert result.returncode == 1, result.stdout
    failed = lines_for(result.stdout, "FAIL")
    assert any("route prometheus.local" in line and f"-> {status}" in line and "adminAllowedCidrs" in line
               for line in failed), result.stdout


@pytest.mark.parametrize("host", ["grafana.local", "litellm.local"])
def test_guarded_route_answering_without_credentials_fails(stack: Stack, platform: Platform, host: str) -> None:
    platform.unguarded.add(host)
    result = run_verify(stack, "--skip", "otlp-http", "--skip", "otlp-grpc", "--skip", "prometheus")
    assert result.returncode == 1, result.stdout
    failed = lines_for(result.stdout, "FAIL")
    assert any(f"auth {host}" in line and "without credentials -> 200 (want 401/403)" in line for line in failed), (
        result.stdout
    )


def test_guarded_route_refusing_the_credentials_fails(stack: Stack, platform: Platform) -> None:
    result = run_verify(stack, "--skip", "otlp-http", "--skip", "otlp-grpc", "--skip", "prometheus",
                        env={"GRAFANA_ADMIN_PASSWORD": "wrong"})
    assert result.returncode == 1
    failed = lines_for(result.stdout, "FAIL")
    assert any("auth grafana.local" in line and "with credentials -> 401 (want 2xx)" in line for line in failed)
    assert any(line.split()[1:3] == ["auth", "litellm.local"] for line in lines_for(result.stdout, "PASS"))


def test_requested_skips_pass_and_say_so(stack: Stack, platform: Platform) -> None:
    result = run_verify(stack, "--skip", "otlp-http", "--skip", "otlp-grpc", "--skip", "litellm", timeout=20)
    assert result.returncode == 0, result.stdout
    assert "3 skipped" in result.stdout and "not accepted" not in result.stdout


def test_route_answering_404_fails_with_its_hostname(stack: Stack, platform: Platform) -> None:
    platform.route_status["grafana.local"] = 404
    result = run_verify(stack, "--skip", "grafana", "--skip", "auth")
    assert result.returncode == 1
    failed = lines_for(result.stdout, "FAIL")
    assert len(failed) == 1, result.stdout
    assert "route grafana.local" in failed[0] and "-> 404" in failed[0] and "no route for this host" in failed[0]
    assert "FAILED: route grafana.local" in result.stdout


def test_route_without_healthy_backend_fails(stack: Stack, platform: Platform) -> None:
    platform.route_status["tempo.local"] = 503
    result = run_verify(stack, "--skip", "otlp-http", "--skip", "otlp-grpc", "--skip", "litellm")
    assert result.returncode == 1
    failed = lines_for(result.stdout, "FAIL")
    assert any("route tempo.local" in line and "no healthy backend" in line for line in failed)


def test_span_that_never_arrives_fails_within_the_deadline(stack: Stack, platform: Platform) -> None:
    platform.drop_http_spans = True  # accepted by the receiver, never stored: a broken export to Tempo
    started = time.monotonic()
    result = run_verify(stack, timeout=1.5)
    assert time.monotonic() - started < HANG_GUARD / 2
    assert result.returncode == 1
    failed = {line.split()[1]: line for line in lines_for(result.stdout, "FAIL")}
    assert "not found in Tempo within 1.5s" in failed["otlp-http"]
    # the mock engine exports over OTLP/HTTP too: the LiteLLM trace is lost the same way
    assert "litellm" in failed
    assert any(line.split()[1] == "otlp-grpc" for line in lines_for(result.stdout, "PASS"))


def test_test_spans_carry_the_collectors_token(stack: Stack, platform: Platform) -> None:
    """With ``tracing.otlpAuth`` the receivers refuse spans without the token: the checks send it."""
    platform.otlp_token = "t0ken-for-the-verify-test"
    only_spans = ("--skip", "routes", "--skip", "auth", "--skip", "litellm", "--skip", "prometheus",
                  "--skip", "grafana")
    refused = run_verify(stack, *only_spans, timeout=1, env={"OTLP_BEARER_TOKEN": ""})
    failed = {line.split()[1]: line for line in lines_for(refused.stdout, "FAIL")}
    assert refused.returncode == 1 and "answered 401" in failed["otlp-http"], refused.stdout
    assert "UNAUTHENTICATED" in failed["otlp-grpc"], refused.stdout
    accepted = run_verify(stack, *only_spans, timeout=20, env={"OTLP_BEARER_TOKEN": platform.otlp_token})
    assert accepted.returncode == 0, accepted.stdout
    assert {line.split()[1] for line in lines_for(accepted.stdout, "PASS")} >= {"otlp-http", "otlp-grpc"}


def test_target_down_fails_with_the_scrape_error(stack: Stack, platform: Platform) -> None:
    platform.targets[1] = {**platform.targets[1], "health": "down", "lastError": "connection refused"}
    result = run_verify(stack, "--skip", "otlp-http", "--skip", "otlp-grpc", "--skip", "litellm")
    assert result.returncode == 1
    failed = lines_for(result.stdout, "FAIL")
    assert len(failed) == 1, result.stdout
    assert "prometheus target collector" in failed[0] and "down" in failed[0] and "connection refused" in failed[0]


def test_target_missing_from_prometheus_fails(stack: Stack, platform: Platform) -> None:
    platform.targets = [t for t in platform.targets if t["labels"]["job"] != "tempo"]
    result = run_verify(stack, "--skip", "otlp-http", "--skip", "otlp-grpc", "--skip", "litellm")
    assert result.returncode == 1
    assert any("prometheus target tempo" in line and "no active target matches 'tempo'" in line
               for line in lines_for(result.stdout, "FAIL"))


def test_unhealthy_datasource_fails_with_grafanas_message(stack: Stack, platform: Platform) -> None:
    platform.datasource_health["tempo"] = (400, {"status": "ERROR", "message": "connection refused to tempo:3200"})
    result = run_verify(stack, "--skip", "otlp-http", "--skip", "otlp-grpc", "--skip", "litellm")
    assert result.returncode == 1
    assert any("grafana datasource tempo" in line and "connection refused to tempo:3200" in line
               for line in lines_for(result.stdout, "FAIL"))


def test_missing_secrets_fail_instead_of_passing_silently(stack: Stack, platform: Platform) -> None:
    result = run_verify(stack, "--skip", "otlp-http", "--skip", "otlp-grpc",
                        env={"LITELLM_MASTER_KEY": "", "GRAFANA_ADMIN_PASSWORD": "wrong"})
    assert result.returncode == 1
    failed = "\n".join(lines_for(result.stdout, "FAIL"))
    assert "no LiteLLM master key" in failed
    assert "/api/datasources" in failed and "401" in failed


def test_grpc_check_is_skipped_with_the_reason_without_grpcio(stack: Stack, platform: Platform,
                                                              tmp_path: Path) -> None:
    (tmp_path / "grpc").mkdir()
    (tmp_path / "grpc" / "__init__.py").write_text("raise ImportError('grpcio is not installed here')\n")
    result = run_verify(stack, timeout=20, env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 1, "a skip nobody asked for fails the run"
    skipped = lines_for(result.stdout, "SKIP")
    assert len(skipped) == 1 and "otlp-grpc" in skipped[0] and "grpcio is not installed here" in skipped[0]
    assert "--allow-skip otlp-grpc accepts it" in skipped[0]
    assert "(1 not accepted)" in result.stdout and "FAILED: otlp-grpc" in result.stdout

    accepted = run_verify(stack, "--allow-skip", "otlp-grpc", timeout=20, env={"PYTHONPATH": str(tmp_path)})
    assert accepted.returncode == 0, accepted.stdout
    assert "1 skipped" in accepted.stdout and "not accepted" not in accepted.stdout


def test_unreachable_gateway_fails_every_check_quickly(tmp_path: Path) -> None:
    closed = free_port()
    argv = [sys.executable, "-m", "verify", "--gateway", "127.0.0.1", "--http-port", str(closed),
            "--otlp-http-port", str(closed), "--otlp-grpc-port", str(closed), "--timeout", "0.5",
            "--interval", "0.1", "--request-timeout", "1", "--target", "engine=mock-llm"]
    started = time.monotonic()
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=HANG_GUARD,
                            env={**os.environ, "LITELLM_MASTER_KEY": "k", "GRAFANA_ADMIN_PASSWORD": "p"})
    assert time.monotonic() - started < HANG_GUARD / 2
    assert result.returncode == 1
    assert "0 passed" in result.stdout
    assert "connection failed" in result.stdout and "cannot reach" in result.stdout


def test_bad_usage_exits_2() -> None:
    result = subprocess.run([sys.executable, "-m", "verify", "--gateway", "1.2.3.4", "--target", "no-equals-sign"],
                            cwd=ROOT, capture_output=True, text=True, timeout=HANG_GUARD)
    assert result.returncode == 2
    assert "NAME=MATCH" in result.stderr


# ---------------------------------------------------------------------------------------------
# The Verification component in the plan
# ---------------------------------------------------------------------------------------------


def checks_command(plan: Plan) -> Resource:
    return next(r for r in plan.resources if r.name == "verification-checks")


def test_verification_runs_last_with_secrets_only_in_its_environment(dev_plan: Plan) -> None:
    checks = checks_command(dev_plan)
    assert checks.type == "command:local:Command"
    create = checks.inputs["create"]
    assert " -m verify --gateway 192.0.2.10 --domain local " in create
    for flag in ("--host grafana.local", "--host litellm.local", "--target mock=mock-llm", "--datasource tempo",
                 "--litellm-key-env LITELLM_MASTER_KEY", "--grafana-password-env GRAFANA_ADMIN_PASSWORD"):
        assert flag in create
    assert "sk-" not in create and "password " not in create.lower()
    assert checks.inputs["environment"] == {"LITELLM_MASTER_KEY": SECRET, "GRAFANA_ADMIN_PASSWORD": SECRET}
    # what is checked is what re-runs it: the address, the hostnames, the targets
    assert "192.0.2.10" in checks.inputs["triggers"] and ["mock", "mock-llm"] in checks.inputs["triggers"][3]
    assert checks.urn in dev_plan.waves[-1]
    for step in ("gateway-grafana", "gateway-gateway", "monitoring-kps", "mesh-istiod"):
        assert dev_plan.depends_on(checks.urn, next(r.urn for r in dev_plan.resources if r.name == step)), step


def test_gpu_stack_checks_vllm_and_dcgm_targets(gpu_plan: Plan) -> None:
    create = checks_command(gpu_plan).inputs["create"]
    assert "--target vllm=vllm" in create and "--target dcgm=dcgm-exporter" in create
    assert "--target mock=" not in create


def test_verification_can_be_switched_off() -> None:
    plan = run_program("dev", {"verification.enabled": "false"})
    assert not any("verification" in r.name for r in plan.resources)


def test_with_https_the_checks_use_the_https_listener(dev_plan: Plan) -> None:
    assert "--https-port" not in checks_command(dev_plan).inputs["create"]
    checks = checks_command(run_program("dev", {"gateway.https.enabled": "true"}))
    assert checks.inputs["create"].endswith(" --https-port 443") and checks.inputs["triggers"][-1] == 443
