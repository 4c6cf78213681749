"""OTLP bearer-token auth (``tracing.otlpAuth``): the collector asks for the token, every sender the platform
wires presents it from a Secret of its own namespace (Istio's proxies excepted: a receiver without a token,
open to the meshed namespaces only), and the exported client environments carry it as a secret.

The real collector refusing and accepting spans is ``tests/pipeline/test_otlp_auth.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import config
from components import litellm, tracing_pipeline
from components.contracts import OTLP_AUTH_HEADER
from config.loading import token_problem
from offline.checks import network_edges
from offline.plan import SECRET, Plan, Resource
from offline.runner import FAKE_SECRET, ROOT, run_program
from tests.support import stack_plan

P = "llm-tracing-infra"
REVEAL = '''
# Test probe: the secret environments and the collector's token, unsecreted into the plan.
k8s.core.v1.ConfigMap("test-host-env", data=pulumi.Output.unsecret(
    with_otlp_auth(routes.host_otel_environment("my-llm-app"), tracing.endpoints.auth)))
k8s.core.v1.ConfigMap("test-cluster-env", data=pulumi.Output.unsecret(tracing.app_environment("my-llm-app")))
k8s.core.v1.ConfigMap("test-token", data={"token": pulumi.Output.unsecret(tracing.endpoints.auth.token)})
'''


def collector(plan: Plan) -> dict[str, Any]:
    return dict(chart_values(plan)["alternateConfig"])


def chart_values(plan: Plan) -> dict[str, Any]:
    (chart,) = [c for c in plan.charts() if str(c.inputs.get("chart", "")).endswith("opentelemetry-collector")]
    return dict(chart.inputs["values"])


def container_env(plan: Plan, name: str) -> dict[str, Any]:
    (deployment,) = [d for d in plan.k8s("Deployment") if d.k8s_name == name]
    (main, *_) = deployment.inputs["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in main["env"]}


def secret(plan: Plan, namespace: str, name: str) -> Resource:
    (found,) = [s for s in plan.k8s("Secret") if s.namespace == namespace and s.k8s_name == name]
    return found


def revealed(tmp_path: Path, stack: str = "gpu", secrets: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    program = tmp_path / "program.py"
    program.write_text((ROOT / "__main__.py").read_text() + REVEAL)
    plan = run_program(stack, program=program, secrets=secrets)
    return {name: next(r for r in plan.k8s("ConfigMap") if r.name == name).inputs["data"]
            for name in ("test-host-env", "test-cluster-env", "test-token")}


# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------


def test_on_by_default_off_on_dev() -> None:
    assert config.StackConfig().tracing.otlp_auth.enabled is True
    assert "otlpAuth" in (ROOT / "Pulumi.dev.yaml").read_text()
    assert "otlp/mesh" not in collector(stack_plan("dev"))["receivers"]
    assert {stack: "bearertokenauth/otlp" in collector(stack_plan(stack))["extensions"]
            for stack in ("dev", "gpu", "cluster")} == {"dev": False, "gpu": True, "cluster": True}


@pytest.mark.parametrize("token", ["short", "has spaces in it and is long enough to pass", "a,b=c" * 10, ""])
def test_a_token_that_cannot_travel_in_a_header_is_refused(token: str) -> None:
    problem = token_problem("otlpBearerToken", token)
    assert problem is not None and "openssl rand -hex 32" in problem
    assert not token or token not in problem, "the value is never shown"
    assert token_problem("otlpBearerToken", "a" * 31 + "-._~Z9") is None


def test_a_token_with_auth_off_is_an_error() -> None:
    with pytest.raises(config.ConfigError, match=r"otlpBearerToken: is set but .*tracing\.otlpAuth\.enabled is false"):
        run_program("dev", secrets={"otlpBearerToken": "x" * 40})


# ---------------------------------------------------------------------------------------------
# The collector
# ---------------------------------------------------------------------------------------------


def test_both_receivers_ask_for_the_token_read_from_a_secret() -> None:
    plan = stack_plan("gpu")
    config_ = collector(plan)
    assert config_["extensions"]["bearertokenauth/otlp"] == {"token": "${env:OTLP_BEARER_TOKEN}"}
    assert "bearertokenauth/otlp" in config_["service"]["extensions"]
    for protocol in ("grpc", "http"):
        assert config_["receivers"]["otlp"]["protocols"][protocol]["auth"] == {"authenticator": "bearertokenauth/otlp"}
    env = chart_values(plan)["extraEnvs"]
    reference = {"secretKeyRef": {"name": tracing_pipeline.AUTH_SECRET, "key": "token"}}
    assert {"name": tracing_pipeline.AUTH_TOKEN_ENV, "valueFrom": reference} in env
    token = secret(plan, "tracing", tracing_pipeline.AUTH_SECRET)
    assert token.inputs["stringData"] == SECRET
    assert plan.depends_on(next(c.urn for c in plan.charts() if c.name == "tracing-collector"), token.urn)


def test_the_mesh_receiver_takes_no_token_and_every_pipeline_reads_it() -> None:
    plan = stack_plan("gpu")
    config_ = collector(plan)
    mesh = config_["receivers"]["otlp/mesh"]["protocols"]
    assert mesh == {"grpc": {"endpoint": f"${{env:MY_POD_IP}}:{tracing_pipeline.MESH_PORT}"}}
    for name, pipeline in config_["service"]["pipelines"].items():
        assert pipeline["receivers"] == ["otlp", "otlp/mesh"], name
    port = chart_values(plan)["ports"]["otlp-mesh"]
    assert (port["containerPort"], port["servicePort"], port["appProtocol"]) == (4319, 4319, "grpc")
    (istiod,) = [c for c in plan.charts() if c.name == "mesh-istiod"]
    (provider,) = istiod.inputs["values"]["meshConfig"]["extensionProviders"]
    assert provider["opentelemetry"] == {"service": "otel-collector.tracing.svc.cluster.local", "port": 4319}
    dev_istiod = next(c for c in stack_plan("dev").charts() if c.name == "mesh-istiod")
    assert dev_istiod.inputs["values"]["meshConfig"]["extensionProviders"][0]["opentelemetry"]["port"] == 4317


def test_only_the_meshed_namespaces_reach_the_receiver_without_a_token() -> None:
    plan = stack_plan("gpu")
    _, allows, _ = network_edges.rendered(plan)
    to_mesh = {a.source for a in allows if a.direction == "ingress" and a.target == "tracing" and a.port == 4319}
    assert to_mesh == {"istio-system", "llm", "monitoring", "tracing"}
    to_tokened = {a.source for a in allows if a.direction == "ingress" and a.target == "tracing" and a.port == 4317}
    assert "litellm" in to_tokened and "litellm" not in to_mesh, "LiteLLM has no sidecar: it sends the token"


def test_no_token_in_any_value_or_manifest(tmp_path: Path) -> None:
    token = revealed(tmp_path)["test-token"]["token"]
    assert token.startswith("offline-random-"), "generated when otlpBearerToken is unset"
    assert token not in stack_plan("gpu").dumps(), "the token appears only as [secret]"
    given = revealed(tmp_path, secrets={"otlpBearerToken": "z" * 40})["test-token"]["token"]
    assert given == "z" * 40, "the otlpBearerToken secret wins over a generated one"


# ---------------------------------------------------------------------------------------------
# Senders: each from a Secret of its own namespace
# ---------------------------------------------------------------------------------------------


def test_engines_and_litellm_send_the_token() -> None:
    plan = stack_plan("gpu")
    vllm = container_env(plan, "vllm")
    assert vllm["OTEL_EXPORTER_OTLP_HEADERS"] == {"secretKeyRef": {"name": "vllm-otlp-auth", "key": "headers"}}
    assert secret(plan, "llm", "vllm-otlp-auth").inputs["stringData"] == SECRET
    proxy = container_env(plan, litellm.NAME)
    assert proxy["OTEL_HEADERS"] == {"secretKeyRef": {"name": "litellm-otlp-auth", "key": "headers"}}
    assert secret(plan, "litellm", "litellm-otlp-auth").inputs["stringData"] == SECRET
    mock = container_env(run_program("dev", {"tracing.otlpAuth.enabled": "true"}), "mock-llm")
    assert mock["OTEL_EXPORTER_OTLP_HEADERS"] == {"secretKeyRef": {"name": "mock-llm-otlp-auth", "key": "headers"}}
    assert "OTEL_EXPORTER_OTLP_HEADERS" not in container_env(stack_plan("dev"), "mock-llm")


def test_litellm_headers_are_its_own_format() -> None:
    """LiteLLM splits OTEL_HEADERS without URL-decoding: a raw space, and a lower-case key for gRPC."""
    assert litellm.otel_headers("Bearer abc") == f"{OTLP_AUTH_HEADER}=Bearer abc" == "authorization=Bearer abc"


# ---------------------------------------------------------------------------------------------
# What clients are given
# ---------------------------------------------------------------------------------------------


def test_client_environments_carry_the_token_and_stay_secret(tmp_path: Path) -> None:
    outputs = stack_plan("gpu").outputs
    for name in ("hostOtelEnvironment", "clusterOtelEnvironment", "appOtelEnvironment"):
        assert outputs[name] == SECRET, f"{name} holds the token: it must be secret"
    probes = revealed(tmp_path)
    token = probes["test-token"]["token"]
    for name in ("test-host-env", "test-cluster-env"):
        assert probes[name]["OTEL_EXPORTER_OTLP_HEADERS"] == f"authorization=Bearer%20{token}", name
    assert probes["test-cluster-env"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == \
        "http://otel-collector.tracing.svc.cluster.local:4317"
    assert probes["test-host-env"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://{outputs['gatewayAddress']}:4317"
    dev = stack_plan("dev").outputs["hostOtelEnvironment"]
    assert "OTEL_EXPORTER_OTLP_HEADERS" not in dev and FAKE_SECRET not in str(dev)


def test_verification_sends_the_token_from_the_environment() -> None:
    plan = stack_plan("gpu")
    (command,) = [r for r in plan.resources if r.name == "verification-checks"]
    assert "--otlp-token-env OTLP_BEARER_TOKEN" in command.inputs["create"]
    assert command.inputs["environment"]["OTLP_BEARER_TOKEN"] == SECRET
    (dev_command,) = [r for r in stack_plan("dev").resources if r.name == "verification-checks"]
    assert "--otlp-token-env" not in dev_command.inputs["create"]
