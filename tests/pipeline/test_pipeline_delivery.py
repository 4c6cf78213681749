"""The generated collector config on the real collector: every span arrives, with its attributes.

The config is the one the offline preview hands the chart (``collector.generated_config``), with
only addresses rewritten; spans go in through the OpenTelemetry SDK (OTLP gRPC and HTTP) and
through the mock engine, and come out in a local OTLP sink standing in for Tempo.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from components import litellm
from components.contracts import sdk_headers
from components.tracing_pipeline import LLM_SPAN_ATTRIBUTES
from offline.plan import Plan
from tests.pipeline.collector import (
    KUBERNETES_ONLY,
    CollectorProcess,
    LocalConfig,
    chart_values,
    coalesce,
    effective_config,
    running_pipeline,
    traces_exporters,
)
from tests.pipeline.otlp_sink import free_port
from tests.pipeline.traffic import OtlpClient, Sent, compare
from tools import build_collector

MOCK_ENGINE = Path(__file__).resolve().parents[2] / "apps" / "mock_engine" / "mock_engine_server.py"


def stack_config(plan: Plan) -> dict[str, Any]:
    return effective_config(chart_values(plan))


# ---------------------------------------------------------------------------------------------
# The binary holds exactly what the generated configs use (no Go needed)
# ---------------------------------------------------------------------------------------------


def test_manifest_holds_exactly_the_generated_components(dev_plan: Plan, gpu_plan: Plan) -> None:
    configs = [stack_config(dev_plan), stack_config(gpu_plan)]
    manifest = build_collector.load_manifest()
    assert build_collector.check_components(manifest, configs) == []
    assert build_collector.check_versions(manifest, build_collector.collector_release()) == []

    with_transform = coalesce(configs[0], {"processors": {"transform/redact": {}}})
    problems = build_collector.check_components(manifest, [with_transform])
    assert any("'transform'" in p and "lacks it" in p for p in problems)
    assert any("no generated config uses" in p for p in build_collector.check_components(manifest, [{}]))
    old_receiver = {"receivers": [{"gomod": f"{build_collector.CORE}/receiver/otlpreceiver v0.1.0"}]}
    assert build_collector.check_versions(old_receiver, build_collector.collector_release())


def test_chart_defaults_are_rendered_like_helm() -> None:
    config = effective_config(
        {
            "config": {
                "receivers": {"jaeger": None},
                "processors": {"k8sattributes": {"a": 1}},
                "service": {"pipelines": {"traces": {"processors": ["k8sattributes"]}}},
            }
        }
    )
    assert "jaeger" not in config["receivers"] and "zipkin" in config["receivers"]  # null deletes, the rest stays
    assert config["processors"]["k8s_attributes"] == {"a": 1} and "k8sattributes" not in config["processors"]
    assert config["service"]["pipelines"]["traces"]["processors"] == ["k8s_attributes"]
    with pytest.raises(NotImplementedError):
        effective_config({"presets": {"kubernetesAttributes": {"enabled": True}}})


# ---------------------------------------------------------------------------------------------
# On the real collector
# ---------------------------------------------------------------------------------------------


def test_k8sattributes_needs_a_cluster(collector_binary: Path, tmp_path: Path) -> None:
    """Why the tests drop k8sattributes: outside a cluster it stops the collector from ever receiving."""
    grpc_port = free_port()
    config = {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"127.0.0.1:{grpc_port}"}}}},
        "processors": {KUBERNETES_ONLY[1]: {}},
        "exporters": {"otlp_grpc": {"endpoint": f"127.0.0.1:{free_port()}", "tls": {"insecure": True}}},
        "service": {
            "pipelines": {
                "traces": {"receivers": ["otlp"], "processors": [KUBERNETES_ONLY[1]], "exporters": ["otlp_grpc"]}
            },
            "telemetry": {"metrics": {"level": "none"}},
        },
    }
    collector = CollectorProcess(collector_binary, LocalConfig(config=config, env={}), tmp_path)
    with pytest.raises((TimeoutError, RuntimeError)):
        collector.start(timeout=5)  # readiness is the receiver's port here: it never opens
    try:
        assert "KUBERNETES_SERVICE_HOST" in collector.log_path.read_text()
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", grpc_port)) != 0
    finally:
        collector.stop(timeout=5)


def exporter_is_filtered(config: dict[str, Any], exporter: str) -> bool:
    """True when every traces pipeline feeding ``exporter`` runs a filter processor."""
    pipelines = [
        p
        for n, p in config["service"]["pipelines"].items()
        if n.split("/")[0] == "traces" and exporter in p.get("exporters", [])
    ]
    return all(any(proc.split("/")[0] == "filter" for proc in p.get("processors", [])) for p in pipelines)


def bound_for_langfuse(attributes: dict[str, Any], service: str) -> bool:
    """What the Langfuse pipeline keeps (components/tracing_pipeline.py): LLM spans of non-self-reporting services."""
    return any(key in attributes for key in LLM_SPAN_ATTRIBUTES) and service != litellm.NAME


@pytest.mark.parametrize("stack", ["dev", "gpu"])
def test_every_span_arrives_with_its_attributes(
    stack: str, collector_binary: Path, tmp_path: Path, dev_plan: Plan, gpu_plan: Plan
) -> None:
    """LLM and plain spans over gRPC and HTTP, and LLM spans of a self-reporting service (LiteLLM).

    Tempo's exporter gets every one; a filtered exporter (Langfuse on gpu) exactly the LLM spans
    of the other services, and none of the rest.
    """
    config = stack_config(dev_plan if stack == "dev" else gpu_plan)
    with running_pipeline(collector_binary, config, tmp_path) as pipeline:
        assert pipeline.sinks, "the generated config has no OTLP traces exporter"
        sent = Sent()
        for protocol, endpoint in (("grpc", pipeline.collector.otlp_grpc), ("http", pipeline.collector.otlp_http)):
            client = OtlpClient(protocol, endpoint, service=f"pipeline-test-{protocol}",
                                headers=pipeline.local.client_headers)
            client.send(sent, 500, run=f"{stack}-{protocol}-llm")
            client.send(sent, 500, run=f"{stack}-{protocol}-plain", llm=False)
            client.close()
        self_reporting = OtlpClient("grpc", pipeline.collector.otlp_grpc, service=litellm.NAME,
                                    headers=pipeline.local.client_headers)
        self_reporting.send(sent, 100, run=f"{stack}-self-reporting")
        self_reporting.close()
        for name, sink in pipeline.sinks.items():
            if exporter_is_filtered(config, name):
                expected = sent.subset(bound_for_langfuse)
                withheld = sent.subset(lambda a, s: not bound_for_langfuse(a, s))
                assert len(expected) == 1000 and len(withheld) == 1100
            else:
                expected, withheld = sent, Sent()
            sink.wait_for(len(expected), timeout=30)
            time.sleep(1.5)  # past the batch timeout: a withheld span would have arrived by now
            outcome = compare(expected, sink, f"{stack} -> {name}", withheld=withheld)
            assert outcome.lost == 0 and outcome.wrong_attributes == [] and outcome.leaked == 0


@pytest.mark.parametrize("stack", ["dev", "gpu"])
def test_mock_engine_spans_arrive(
    stack: str, collector_binary: Path, tmp_path: Path, dev_plan: Plan, gpu_plan: Plan
) -> None:
    """The serving path: the mock engine exports OTLP/HTTP JSON to the collector's 4318 like in the cluster
    (on gpu, where the collector asks for its token, with the token in the form the engine's Secret holds)."""
    if not MOCK_ENGINE.exists():
        pytest.skip("apps/mock_engine/mock_engine_server.py is not there yet")
    config = stack_config(dev_plan if stack == "dev" else gpu_plan)
    with running_pipeline(collector_binary, config, tmp_path) as pipeline:
        token = pipeline.local.client_headers.get("authorization", "").removeprefix("Bearer ")
        assert bool(token) == (stack == "gpu")
        port = free_port()
        env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "MOCK_MODEL": "mock-llm",
            "MOCK_TOKENS_PER_SECOND": "1000",
            "OTEL_SERVICE_NAME": "mock-engine",
            "OTEL_EXPORTER_OTLP_ENDPOINT": pipeline.collector.otlp_http,
            **({"OTEL_EXPORTER_OTLP_HEADERS": sdk_headers(token)} if token else {}),
        }
        engine = subprocess.Popen(
            [sys.executable, str(MOCK_ENGINE)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            trace_ids = [os.urandom(16).hex() for _ in range(20)]
            _wait_http(f"http://127.0.0.1:{port}/health", engine)
            for trace_id in trace_ids:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/v1/chat/completions",
                    data=json.dumps(
                        {"model": "mock-llm", "max_tokens": 4, "messages": [{"role": "user", "content": "hi"}]}
                    ).encode(),
                    headers={"Content-Type": "application/json", "traceparent": f"00-{trace_id}-{'1' * 16}-01"},
                )
                with urllib.request.urlopen(request, timeout=10) as reply:
                    assert reply.status == 200
        finally:
            engine.terminate()  # flushes its span queue on the way out
            engine.wait(15)
        for name, sink in pipeline.sinks.items():
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not set(trace_ids) <= {s.trace_id for s in sink.spans.values()}:
                time.sleep(0.1)
            spans = [s for s in sink.spans.values() if s.trace_id in trace_ids]
            print(
                f"[mock engine -> {name}] sent={len(trace_ids)} received={len(spans)} "
                f"lost={len(set(trace_ids) - {s.trace_id for s in spans})}"
            )
            assert {s.trace_id for s in spans} == set(trace_ids)
            for span in spans:
                assert span.resource["service.name"] == "mock-engine"
                assert span.attributes["gen_ai.request.model"] == "mock-llm"
                assert span.attributes["gen_ai.usage.output_tokens"] == 4
                assert span.attributes["http.response.status_code"] == 200


def _wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mock engine exited: {process.stderr and process.stderr.read().decode()}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} not up after {timeout} s")


def test_traces_exporters_are_all_sinked(dev_plan: Plan) -> None:
    """Every OTLP exporter of a traces pipeline gets a sink; a non-OTLP one would be left unchecked."""
    config = stack_config(dev_plan)
    exporters = traces_exporters(config)
    for pipeline_name, pipeline in config["service"]["pipelines"].items():
        if pipeline_name.split("/")[0] == "traces":
            unchecked = [e for e in pipeline["exporters"] if e not in exporters and e.split("/")[0] != "debug"]
            assert unchecked == [], f"traces exporters the pipeline tests cannot check: {unchecked}"
