"""The generated LiteLLM config on the real LiteLLM proxy (PyPI, the image's version), in front of mock engines.

One proxy process serves every test of this module; it runs the gpu stack's config.yaml with the
canary on (vLLM primary, SGLang canary at ``PERCENT``) and Langfuse off (its callback needs a
Langfuse server; the OTel callback is what is under test), with each engine's ``api_base`` on a
local mock engine and the OTel callback's endpoint on the real collector running the generated
collector config. The only entry the tests add is ``slow-stream``, a copy of the primary's entry
pointing at a mock that streams slowly, for the long-stream test; it starts as soon as the proxy is
up and runs while the other tests do.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import openai
import pytest

from components import litellm
from offline import metric_contract
from offline.runner import run_program
from tests.pipeline.collector import Pipeline, chart_values, effective_config, running_pipeline
from tests.pipeline.litellm_proxy import LiteLlmProxy, generated, localize, proxy_python
from tests.pipeline.otlp_sink import free_port

ROOT = Path(__file__).resolve().parents[2]
MOCK_ENGINE = ROOT / "apps" / "mock_engine" / "mock_engine_server.py"
"""The project's mock engine (application code that runs in a pod)."""
PERCENT = 10
"""Canary share. At 10 % one standard deviation over 1,000 requests is 0.95 points: ±3 is 3.2 sigma."""
REQUESTS = 1000
MASTER_KEY = "sk-pipeline-test"
SLOW_TOKENS, SLOW_RATE = 48, 0.5
"""The slow stream: 48 tokens at one every 2 s, about 96 s end to end."""
CANARY_OVERRIDES = {
    "sglang.enabled": "true",
    "gateway.canary": json.dumps({"primary": "vllm", "canary": "sglang", "percent": PERCENT}),
    "langfuse.enabled": "false",
    "tracing.collector.exportToLangfuse": "false",
}


@dataclass
class MockEngine:
    process: subprocess.Popen[bytes]
    url: str

    def successes(self) -> float:
        """Sum of ``vllm:request_success_total`` over finish reasons."""
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as reply:
            text = reply.read().decode()
        return sum(float(v) for v in re.findall(r"^vllm:request_success_total\{[^}]*\} (\S+)$", text, re.M))


@dataclass
class SlowStream:
    """A streamed completion through the proxy, read in a thread until ``[DONE]`` or an error."""

    chunks: int = 0
    done: bool = False
    seconds: float = 0.0
    error: str = ""
    thread: threading.Thread | None = None
    events: list[str] = field(default_factory=list)

    def run(self, proxy_url: str) -> None:
        start = time.monotonic()
        try:
            host, port = proxy_url.removeprefix("http://").split(":")
            connection = http.client.HTTPConnection(host, int(port), timeout=60)  # per read, not in total
            body = {"model": "slow-stream", "stream": True, "messages": [{"role": "user", "content": "take your time"}]}
            connection.request(
                "POST", "/v1/chat/completions", body=json.dumps(body),
                headers={"Authorization": f"Bearer {MASTER_KEY}", "Content-Type": "application/json"},
            )
            response = connection.getresponse()
            if response.status != 200:
                self.error = f"HTTP {response.status}: {response.read()[:500]!r}"
                return
            for raw in response:
                line = raw.decode().strip()
                if not line.startswith("data: "):
                    continue
                data = line.removeprefix("data: ")
                self.events.append(data[:200])
                if data == "[DONE]":
                    self.done = True
                    break
                choices = json.loads(data).get("choices") or []
                if choices and (choices[0].get("delta") or {}).get("content"):
                    self.chunks += 1
            connection.close()
        except Exception as exc:  # reported by the test, with what had arrived
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.seconds = time.monotonic() - start


@dataclass
class ProxyUnderTest:
    proxy: LiteLlmProxy
    primary: MockEngine
    canary: MockEngine
    pipeline: Pipeline
    model: str
    slow: SlowStream


def start_mock(workdir: Path, name: str, model: str, env: dict[str, str]) -> MockEngine:
    port = free_port()
    log = (workdir / f"mock-{name}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, str(MOCK_ENGINE)],
        env={"PATH": os.environ.get("PATH", ""), "HOST": "127.0.0.1", "PORT": str(port), "MOCK_MODEL": model,
             "MOCK_ACCESS_LOG": "false", **env},
        stdout=log, stderr=subprocess.STDOUT,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mock engine {name} exited: {(workdir / f'mock-{name}.log').read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1):
                return MockEngine(process, url)
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"mock engine {name} not up")


def stop_mock(engine: MockEngine) -> None:
    engine.process.terminate()
    try:
        engine.process.wait(10)
    except subprocess.TimeoutExpired:
        engine.process.kill()
        engine.process.wait(5)


@pytest.fixture(scope="module")
def under_test(collector_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyUnderTest]:
    started = time.monotonic()
    python = proxy_python()
    workdir = tmp_path_factory.mktemp("litellm")
    plan = run_program("gpu", CANARY_OVERRIDES)
    config, env = generated(plan)
    model = config["model_list"][0]["model_name"]
    with ExitStack() as stack:
        collector_config = effective_config(chart_values(plan))
        pipeline = stack.enter_context(running_pipeline(collector_binary, collector_config, workdir))
        fast = {"MOCK_TOKENS_PER_SECOND": "1000", "MOCK_MAX_TOKENS": "2"}
        engines = {}
        for name in ("vllm", "sglang"):
            engines[name] = start_mock(workdir, name, model, fast)
            stack.callback(stop_mock, engines[name])
        slow = start_mock(workdir, "slow", model,
                          {"MOCK_TOKENS_PER_SECOND": str(SLOW_RATE), "MOCK_MAX_TOKENS": str(SLOW_TOKENS)})
        stack.callback(stop_mock, slow)
        local = localize(config, {name: f"{engine.url}/v1" for name, engine in engines.items()})
        primary_entry = next(e for e in local["model_list"] if e["model_info"]["engine"] == "vllm")
        slow_entry = json.loads(json.dumps(primary_entry))
        slow_entry.update(model_name="slow-stream", model_info={"engine": "slow"})
        slow_entry["litellm_params"].pop("weight", None)
        slow_entry["litellm_params"]["api_base"] = f"{slow.url}/v1"
        local["model_list"].append(slow_entry)
        token = pipeline.local.client_headers  # the collector's bearer token, when the stack asks for one
        proxy_env = {
            **env,
            "OTEL_ENDPOINT": f"http://{pipeline.collector.otlp_grpc}",
            # the Deployment's secretKeyRef (litellm-otlp-auth), in the form components/litellm.py writes
            **({"OTEL_HEADERS": litellm.otel_headers(token["authorization"])} if token else {}),
            "LITELLM_MASTER_KEY": MASTER_KEY,  # the Deployment's secretKeyRef
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no fetch of the cost map from GitHub: no internet here
        }
        assert env["OTEL_EXPORTER"] == "otlp_grpc" and "OTEL_ENDPOINT" in env, env
        proxy = LiteLlmProxy(python, local, proxy_env, free_port(), workdir)
        stack.callback(proxy.stop)
        proxy.start()
        print(f"\n[litellm] proxy {proxy.url} up {time.monotonic() - started:.1f} s after the fixture started")
        slow_stream = SlowStream()
        slow_stream.thread = threading.Thread(target=slow_stream.run, args=(proxy.url,), daemon=True)
        slow_stream.thread.start()
        try:
            yield ProxyUnderTest(proxy, engines["vllm"], engines["sglang"], pipeline, model, slow_stream)
        except BaseException:
            print(f"LiteLLM log ({proxy.log_path}):\n{proxy.log_tail()}")
            raise


def client(proxy: LiteLlmProxy) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=MASTER_KEY, max_retries=0, timeout=60)


def test_weighted_split_over_1000_requests(under_test: ProxyUnderTest) -> None:
    before = (under_test.primary.successes(), under_test.canary.successes())
    body = {"model": under_test.model, "messages": [{"role": "user", "content": "split"}]}
    headers = {"Authorization": f"Bearer {MASTER_KEY}"}
    started = time.monotonic()
    limits = httpx.Limits(max_connections=32)
    with (
        httpx.Client(base_url=under_test.proxy.url, headers=headers, timeout=120, limits=limits) as http,
        ThreadPoolExecutor(max_workers=32) as pool,
    ):
        statuses = list(pool.map(lambda _: http.post("/v1/chat/completions", json=body).status_code, range(REQUESTS)))
    elapsed = time.monotonic() - started
    primary = under_test.primary.successes() - before[0]
    canary = under_test.canary.successes() - before[1]
    share = 100 * canary / (primary + canary) if primary + canary else float("nan")
    print(f"\n[litellm canary] {REQUESTS} requests in {elapsed:.1f} s: primary (vllm slot) {primary:.0f}, "
          f"canary (sglang slot) {canary:.0f} -> canary {share:.2f} % (configured {PERCENT} %)")
    assert statuses.count(200) == REQUESTS, {s: statuses.count(s) for s in set(statuses)}
    assert primary + canary == REQUESTS, "every request reached exactly one engine once (no retries)"
    assert abs(share - PERCENT) <= 3


def test_otel_callback_spans_reach_the_collector_with_genai_attributes(under_test: ProxyUnderTest) -> None:
    trace_ids = [os.urandom(16).hex() for _ in range(5)]
    proxy_client = client(under_test.proxy)
    for trace_id in trace_ids:
        proxy_client.chat.completions.create(
            model=under_test.model, messages=[{"role": "user", "content": "trace me"}],
            extra_headers={"traceparent": f"00-{trace_id}-{'2' * 16}-01"},
        )
    assert under_test.pipeline.sinks, "the generated collector config exports traces somewhere"
    for name, sink in under_test.pipeline.sinks.items():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            spans = [s for s in list(sink.spans.values()) if s.trace_id in trace_ids]
            if {s.trace_id for s in spans} == set(trace_ids):
                break
            time.sleep(0.5)
        litellm_spans = [s for s in spans if s.resource.get("service.name") == "litellm"]
        genai = sorted({k for s in litellm_spans for k in s.attributes if k.startswith("gen_ai.")})
        print(f"\n[litellm otel -> {name}] traces {len({s.trace_id for s in spans})}/{len(trace_ids)}, "
              f"litellm spans {len(litellm_spans)} ({sorted({s.name for s in litellm_spans})}); gen_ai.* keys: {genai}")
        assert {s.trace_id for s in litellm_spans} == set(trace_ids)
        models = {s.attributes.get("gen_ai.request.model") for s in litellm_spans} - {None}
        assert models and all(under_test.model in str(m) for m in models), models


def test_a_model_missing_from_the_proxy_fails_with_litellms_error(under_test: ProxyUnderTest) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client(under_test.proxy).chat.completions.create(
            model="not-in-the-proxy", messages=[{"role": "user", "content": "hello"}]
        )
    message = str(refused.value)
    print(f"\n[litellm] {message[:300]}")
    assert "Invalid model name passed in model=not-in-the-proxy" in message


def test_a_stream_over_90_seconds_reaches_done(under_test: ProxyUnderTest) -> None:
    stream = under_test.slow
    assert stream.thread is not None
    stream.thread.join(timeout=SLOW_TOKENS / SLOW_RATE + 60)
    print(f"\n[litellm] slow stream: {stream.chunks} content chunks in {stream.seconds:.1f} s, "
          f"[DONE]={stream.done}, error={stream.error or 'none'}")
    assert not stream.thread.is_alive(), "the stream is still running"
    assert stream.error == "", f"{stream.error}; last events {stream.events[-3:]}"
    assert stream.done and stream.chunks == SLOW_TOKENS, stream.events[-3:]
    assert stream.seconds > 90


def test_the_live_collector_exposes_only_contract_names(under_test: ProxyUnderTest) -> None:
    """The real collector on the generated config: its self-metrics, spans counted, are names of the contract table.

    A traced completion of its own first, so the span counters exist whatever ran before (run alone, nothing has).
    """
    client(under_test.proxy).chat.completions.create(
        model=under_test.model, messages=[{"role": "user", "content": "count me"}]
    )
    url = under_test.pipeline.collector.local.metrics_url
    assert url, "the generated collector config exposes Prometheus self-metrics"
    counters = {"otelcol_receiver_accepted_spans_total", "otelcol_exporter_sent_spans_total"}
    deadline = time.monotonic() + 60
    while True:
        with urllib.request.urlopen(url, timeout=10) as reply:
            text = reply.read().decode()
        live = {m.group(1) for m in re.finditer(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", text, re.M)}
        if counters <= live or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    table = next(t for t in metric_contract.load() if t.source == "otel-collector")
    print(f"\n[collector] {len(live)} live series names, {len(live - table.metrics)} outside the contract: "
          f"{sorted(live - table.metrics)}")
    assert counters <= live, sorted(live)
    assert sorted(live - table.metrics) == []


def require_mount_namespaces() -> None:
    """``unshare`` with user and mount namespaces works here; skip with the reason outside CI, fail in CI."""
    try:
        probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"],
                               capture_output=True, text=True, timeout=30)
        reason = "" if probe.returncode == 0 else probe.stderr.strip()
    except FileNotFoundError:
        reason = "unshare is not installed (util-linux)"
    if reason:
        message = f"no user and mount namespaces for a read-only root: {reason}"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run this check")
        pytest.skip(message)


def test_the_generated_deployment_runs_on_a_read_only_root(tmp_path: Path) -> None:
    """LiteLLM with the Deployment's config and environment, on a read-only root: it serves a completion,
    its metrics and its admin UI (laid out on the /var/lib/litellm emptyDir), and never meets the read-only
    filesystem (LiteLLM logs and carries on where a write fails, so its log is what tells)."""
    require_mount_namespaces()
    python = proxy_python()
    config, env = generated(run_program("dev"))
    assert env["HOME"] == "/tmp" and env["LITELLM_NON_ROOT"] == "true", env
    model = config["model_list"][0]["model_name"]
    engine = start_mock(tmp_path, "mock", model, {"MOCK_TOKENS_PER_SECOND": "1000", "MOCK_MAX_TOKENS": "2"})
    proxy_env = {**env, "OTEL_ENDPOINT": f"http://127.0.0.1:{free_port()}", "LITELLM_MASTER_KEY": MASTER_KEY,
                 "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proxy = LiteLlmProxy(python, localize(config, {"mock": f"{engine.url}/v1"}), proxy_env, free_port(), tmp_path,
                         read_only_root=True)
    try:
        proxy.start()
        answer = client(proxy).chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
        assert answer.choices[0].message.content
        headers = {"Authorization": f"Bearer {MASTER_KEY}"}
        assert httpx.get(f"{proxy.url}/metrics/", headers=headers, timeout=10).status_code == 200
        assert httpx.get(f"{proxy.url}/ui/login/", timeout=10).status_code == 200
    finally:
        proxy.stop()
        stop_mock(engine)
    log = proxy.log_path.read_text(errors="replace")
    print(f"\n[litellm read-only root] {len(log.splitlines())} log lines; last: {proxy.log_tail(3)}")
    assert "Read-only file system" not in log and "PermissionError" not in log, proxy.log_tail(60)
