"""Serving engines in the plan: vLLM on the GPU stack, the mock engine on dev, SGLang as canary.

Every test runs the real program (``run_program``); overrides break or change one thing and
the plan must follow, so each assertion is about wiring, not about constants.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

import config
from components import mock_engine, tracing_pipeline
from offline.plan import SECRET, Plan, Resource
from offline.runner import ROOT, run_program
from tests.conftest import container, env_of, one, pod_spec, stack_cfg
from tests.support import engine_endpoint


def component(plan: Plan, token: str) -> list[Resource]:
    return [r for r in plan.resources if r.type == token]




def flag(args: list[str], name: str) -> str:
    assert args.count(name) == 1, f"{name} must appear once in {args}"
    return args[args.index(name) + 1]




def gpu_plan_with_secret_token(tmp_path: Path, overrides: dict[str, str] | None = None) -> Plan:
    document = yaml.safe_load((ROOT / "Pulumi.gpu.yaml").read_text())
    document["config"]["llm-tracing-infra:hfToken"] = {"secure": "AAABAHfToken"}
    (tmp_path / "Pulumi.gpu.yaml").write_text(yaml.safe_dump(document))
    return run_program("gpu", overrides, program=ROOT / "__main__.py", root=tmp_path)


DEPLOY_ONLY = """
import dataclasses
import json

import pulumi
import pulumi_kubernetes as k8s

import config
from components import serving
from components.contracts import CrdReadiness, NamespaceRef, ServiceRef, TracingEndpoints
from components.dcgm import Dcgm, DcgmArgs
from tests.support import engine_args

cfg, secrets = config.load()
crds = CrdReadiness("monitoring.coreos.com", k8s.core.v1.ConfigMap("stand-in-crds", data={}))
grpc, http = ServiceRef("c", "t", 4317, "grpc"), ServiceRef("c", "t", 4318, "http")
tracing = TracingEndpoints(grpc, http, ServiceRef("tempo", "t", 3200), ServiceRef("tempo", "t", 4317))
gpu = Dcgm("gpu", DcgmArgs(
    settings=cfg.gpu, namespace=NamespaceRef.existing("gpu"),
    device_plugin_chart=cfg.versions.chart("nvidia-device-plugin"),
    exporter_chart=cfg.versions.chart("dcgm-exporter"), charts=cfg.charts, monitoring_crds=crds,
)) if cfg.gpu.enabled else None
inputs = engine_args(cfg, secrets, namespace=NamespaceRef.existing("llm"), tracing=tracing, crds=crds,
                     gpu=gpu.runtime if gpu else None)
engines = serving.deploy(cfg.engines(), **inputs, opts=pulumi.ResourceOptions())
k8s.core.v1.ConfigMap("engines-probe", data={"engines": json.dumps([dataclasses.asdict(e) for e in engines])})
"""


def deployed_engines(tmp_path: Path, stack: str, overrides: dict[str, str]) -> list[dict[str, Any]]:
    """What ``serving.deploy`` returns, in order: a program calling only it records its result."""
    program = tmp_path / "deploy_only.py"
    program.write_text(DEPLOY_ONLY)
    plan = run_program(stack, overrides, program=program)
    (probe,) = [r for r in plan.resources if r.name == "engines-probe"]
    return list(json.loads(probe.inputs["data"]["engines"]))


# ---------------------------------------------------------------------------------------------
# vLLM on the gpu stack
# ---------------------------------------------------------------------------------------------


def test_vllm_pod_has_gpu_probes_cache_shm_and_runtime_class(gpu_plan: Plan) -> None:
    cfg = stack_cfg("gpu")
    deployment = one(gpu_plan, ":Deployment", "vllm")
    spec, main = pod_spec(deployment), container(deployment)
    assert main["image"] == cfg.versions.image("vllm") and not main["image"].endswith(":latest")
    assert main["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert main["resources"]["requests"]["cpu"] and main["resources"]["requests"]["memory"]
    assert spec["runtimeClassName"] == "nvidia"
    assert deployment.inputs["spec"]["strategy"] == {"type": "Recreate"}
    assert spec["enableServiceLinks"] is False, "Service 'vllm' would inject VLLM_PORT=tcp://... into vLLM"
    # startup probe budget covers the configured download-and-load time; then /health
    startup = main["startupProbe"]
    assert startup["httpGet"]["path"] == "/health"
    assert startup["periodSeconds"] * startup["failureThreshold"] >= cfg.vllm.startup_timeout_seconds
    assert main["readinessProbe"]["httpGet"]["path"] == main["livenessProbe"]["httpGet"]["path"] == "/health"
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in main["volumeMounts"]}
    assert volumes["dshm"]["emptyDir"]["medium"] == "Memory" and mounts["dshm"] == "/dev/shm"
    cache = one(gpu_plan, ":PersistentVolumeClaim", "vllm-model-cache")
    assert volumes["model-cache"]["persistentVolumeClaim"]["claimName"] == cache.k8s_name
    assert env_of(main)["HF_HOME"].startswith(mounts["model-cache"] + "/")
    assert cache.inputs["spec"]["resources"]["requests"]["storage"] == cfg.vllm.cache_size
    assert cache.options["retainOnDelete"] is True
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]


def test_vllm_flags_follow_config() -> None:
    plan = run_program(
        "gpu",
        {
            "vllm.gpuMemoryUtilization": "0.5",
            "vllm.tensorParallelSize": "2",
            "vllm.enablePrefixCaching": "false",
            "vllm.maxModelLen": "4096",
            "vllm.dtype": "bfloat16",
            "vllm.extraArgs": '["--enforce-eager"]',
            "vllm.nodeSelector": '{"pool": "gpu"}',
            "vllm.cacheSize": "80Gi",
            "storage.retainOnDestroy": "false",
        },
    )
    main = container(one(plan, ":Deployment", "vllm"))
    args = main["args"]
    assert flag(args, "--gpu-memory-utilization") == "0.5"
    assert flag(args, "--tensor-parallel-size") == "2"
    assert flag(args, "--max-model-len") == "4096"
    assert flag(args, "--dtype") == "bfloat16"
    assert "--no-enable-prefix-caching" in args and "--enable-prefix-caching" not in args
    assert args[-1] == "--enforce-eager"
    assert main["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert pod_spec(one(plan, ":Deployment", "vllm"))["nodeSelector"] == {"pool": "gpu"}
    cache = one(plan, ":PersistentVolumeClaim", "vllm-model-cache")
    assert cache.inputs["spec"]["resources"]["requests"]["storage"] == "80Gi"
    assert cache.options["retainOnDelete"] is False


def test_vllm_serves_the_configured_model(gpu_plan: Plan) -> None:
    cfg = stack_cfg("gpu")
    args = container(one(gpu_plan, ":Deployment", "vllm"))["args"]
    assert flag(args, "--model") == cfg.vllm.model
    assert flag(args, "--served-model-name") == cfg.vllm.served_model_name
    assert flag(args, "--port") == "8000"


@pytest.mark.parametrize("tracing_namespace", [None, "traces-elsewhere"])
def test_vllm_otlp_endpoint_is_the_collector(tracing_namespace: str | None) -> None:
    overrides = {"namespaces.tracing": tracing_namespace} if tracing_namespace else {}
    plan = run_program("gpu", overrides)
    collector = tracing_pipeline.endpoints(stack_cfg("gpu", overrides).namespaces.tracing).otlp_grpc
    main = container(one(plan, ":Deployment", "vllm"))
    endpoint = flag(main["args"], "--otlp-traces-endpoint")
    assert endpoint == collector.url(scheme="grpc")
    assert (tracing_namespace or "tracing") in endpoint
    assert env_of(main)["OTEL_SERVICE_NAME"] == "vllm"


def test_vllm_service_servicemonitor_and_pdb(gpu_plan: Plan) -> None:
    deployment = one(gpu_plan, ":Deployment", "vllm")
    pod_labels = deployment.inputs["spec"]["template"]["metadata"]["labels"]
    service = one(gpu_plan, ":Service", "vllm")
    assert service.namespace == "llm"
    (port,) = service.inputs["spec"]["ports"]
    assert port["port"] == 8000 and port["name"] == "http"
    assert port["targetPort"] in ("http", 8000) and container(deployment)["ports"][0]["name"] == "http"
    assert service.inputs["spec"]["selector"].items() <= pod_labels.items()
    monitor = one(gpu_plan, ":ServiceMonitor", "vllm")
    assert monitor.inputs["spec"]["selector"]["matchLabels"].items() <= service.metadata["labels"].items()
    (endpoint,) = monitor.inputs["spec"]["endpoints"]
    assert endpoint["port"] == "http" and endpoint["path"] == "/metrics"
    (kps,) = [c for c in gpu_plan.charts() if c.inputs.get("chart") == "kube-prometheus-stack"]
    assert kps.urn in monitor.dependencies
    pdb = one(gpu_plan, ":PodDisruptionBudget", "vllm")
    assert pdb.inputs["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    ref = engine_endpoint(stack_cfg("gpu"), "vllm").service
    assert (ref.name, ref.namespace, ref.port) == (service.k8s_name, service.namespace, port["port"])


def test_vllm_waits_for_the_device_plugin(gpu_plan: Plan) -> None:
    deployment = one(gpu_plan, ":Deployment", "vllm")
    (plugin,) = [c for c in gpu_plan.charts() if c.inputs.get("chart") == "nvidia-device-plugin"]
    assert gpu_plan.depends_on(deployment.urn, plugin.urn)
    plan = run_program("gpu", {"gpu.installDevicePlugin": "false"})
    runtime_class = one(plan, ":RuntimeClass", "nvidia")
    assert plan.depends_on(one(plan, ":Deployment", "vllm").urn, runtime_class.urn)


def test_hf_token_comes_only_from_the_secret(gpu_plan: Plan, tmp_path: Path) -> None:
    assert "HF_TOKEN" not in env_of(container(one(gpu_plan, ":Deployment", "vllm")))
    assert not [r for r in gpu_plan.k8s("Secret") if r.k8s_name == "vllm-hf-token"]
    plan = gpu_plan_with_secret_token(tmp_path, {"vllm.gatedModel": "true"})
    secret = one(plan, ":Secret", "vllm-hf-token")
    assert secret.inputs["stringData"] == SECRET
    hf_token = env_of(container(one(plan, ":Deployment", "vllm")))["HF_TOKEN"]
    assert hf_token == {"secretKeyRef": {"name": "vllm-hf-token", "key": "token"}}
    assert "AAABAHfToken" not in json.dumps(plan.to_json())


def test_gated_model_without_token_is_a_config_error() -> None:
    with pytest.raises(config.ConfigError, match=r"hfToken: required by llm-tracing-infra:vllm.gatedModel=true"):
        run_program("gpu", {"vllm.gatedModel": "true"})


@pytest.mark.parametrize("value", ["1.0", "0", "1.5"])
def test_gpu_memory_utilization_must_lie_strictly_between_0_and_1(value: str) -> None:
    with pytest.raises(config.ConfigError) as error:
        run_program("gpu", {"vllm.gpuMemoryUtilization": value})
    assert "llm-tracing-infra:vllm.gpuMemoryUtilization: Input should be" in str(error.value)
    assert f"(given {json.dumps(value)})" in str(error.value)
    assert not [r for r in error.value.plan.resources if r.type.startswith("kubernetes:")]  # type: ignore[attr-defined]


def test_owned_flags_cannot_be_smuggled_in_extra_args() -> None:
    with pytest.raises(config.ConfigError, match="--otlp-traces-endpoint"):
        run_program("gpu", {"vllm.extraArgs": '["--otlp-traces-endpoint=http://elsewhere:4317"]'})


def test_otel_bootstrap_installs_pinned_packages_without_deps(gpu_plan: Plan) -> None:
    deployment = one(gpu_plan, ":Deployment", "vllm")
    (init,) = pod_spec(deployment)["initContainers"]
    assert "--no-deps" in init["command"]
    assert all("==" in p for p in init["args"] if not p.startswith(("-", "/")))
    target = flag(init["args"], "--target")
    assert env_of(container(deployment))["PYTHONPATH"] == target
    plan = run_program("gpu", {"vllm.otelBootstrap": "false"})
    deployment = one(plan, ":Deployment", "vllm")
    assert not pod_spec(deployment)["initContainers"] and "PYTHONPATH" not in env_of(container(deployment))


# ---------------------------------------------------------------------------------------------
# The mock engine on dev
# ---------------------------------------------------------------------------------------------


def test_dev_runs_the_mock_engine_and_nothing_asks_for_a_gpu(dev_plan: Plan) -> None:
    assert component(dev_plan, "llm-tracing-infra:mock_engine:MockEngine")
    assert not component(dev_plan, "llm-tracing-infra:vllm_server:VllmServer")
    assert not component(dev_plan, "llm-tracing-infra:dcgm:Dcgm")
    everything = json.dumps([r.inputs for r in dev_plan.resources])
    assert "nvidia.com/gpu" not in everything
    assert "runtimeClassName" not in everything
    ref = engine_endpoint(stack_cfg("dev"), "mock").service
    service = one(dev_plan, ":Service", ref.name)
    assert (service.namespace, service.inputs["spec"]["ports"][0]["port"]) == (ref.namespace, ref.port)


def test_the_gpu_scan_would_see_a_gpu(gpu_plan: Plan) -> None:
    """The scan above can fail: a GPU stack's inputs do mention the resource."""
    assert "nvidia.com/gpu" in json.dumps([r.inputs for r in gpu_plan.resources])


def test_mock_engine_runs_the_script_from_its_configmap(dev_plan: Plan) -> None:
    cfg = stack_cfg("dev")
    script_map = one(dev_plan, ":ConfigMap", "mock-llm-script")
    assert script_map.inputs["data"] == {"mock_engine_server.py": mock_engine.SCRIPT.read_text()}
    deployment = one(dev_plan, ":Deployment", "mock-llm")
    spec, main = pod_spec(deployment), container(deployment)
    (volume,) = spec["volumes"]
    (mount,) = main["volumeMounts"]
    assert volume["configMap"]["name"] == script_map.k8s_name and mount["name"] == volume["name"]
    assert main["command"] == ["python", f"{mount['mountPath']}/mock_engine_server.py"]
    assert main["image"] == cfg.versions.image("mockEngine")
    assert main["readinessProbe"]["httpGet"]["path"] == "/health"
    assert main["livenessProbe"]["httpGet"]["path"] == "/health"
    assert main["resources"] == cfg.mock_engine.resources.as_k8s()
    security = main["securityContext"]
    assert security["runAsNonRoot"] and security["readOnlyRootFilesystem"]
    assert security["capabilities"] == {"drop": ["ALL"]} and not security["allowPrivilegeEscalation"]
    env = env_of(main)
    assert env["PORT"] == "8000" and env["MOCK_MODEL"] == cfg.mock_engine.served_model_name
    checksum = deployment.inputs["spec"]["template"]["metadata"]["annotations"]["checksum/script"]
    assert len(checksum) == 64


@pytest.mark.parametrize("tracing_namespace", [None, "traces-elsewhere"])
def test_mock_engine_exports_to_the_collector_otlp_http(tracing_namespace: str | None) -> None:
    overrides = {"namespaces.tracing": tracing_namespace} if tracing_namespace else {}
    plan = run_program("dev", overrides)
    collector = tracing_pipeline.endpoints(stack_cfg("dev", overrides).namespaces.tracing).otlp_http
    env = env_of(container(one(plan, ":Deployment", "mock-llm")))
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == collector.url()
    assert env["OTEL_SERVICE_NAME"] == "mock-llm"


def test_mock_engine_settings_follow_config() -> None:
    plan = run_program("dev", {"mockEngine.servedModelName": "tiny", "mockEngine.replicas": "2"})
    deployment = one(plan, ":Deployment", "mock-llm")
    assert deployment.inputs["spec"]["replicas"] == 2
    assert env_of(container(deployment))["MOCK_MODEL"] == "tiny"


def test_mock_engine_service_and_monitor(dev_plan: Plan) -> None:
    deployment = one(dev_plan, ":Deployment", "mock-llm")
    service = one(dev_plan, ":Service", "mock-llm")
    assert (
        service.inputs["spec"]["selector"].items()
        <= deployment.inputs["spec"]["template"]["metadata"]["labels"].items()
    )
    assert service.inputs["spec"]["ports"][0]["port"] == 8000
    monitor = one(dev_plan, ":ServiceMonitor", "mock-llm")
    assert monitor.inputs["spec"]["endpoints"][0]["path"] == "/metrics"
    (kps,) = [c for c in dev_plan.charts() if c.inputs.get("chart") == "kube-prometheus-stack"]
    assert kps.urn in monitor.dependencies


# ---------------------------------------------------------------------------------------------
# Canary: a second engine
# ---------------------------------------------------------------------------------------------


def test_sglang_canary_deploys_a_second_engine(tmp_path: Path) -> None:
    overrides = {
        "sglang.enabled": "true",
        "gateway.canary": '{"primary": "vllm", "canary": "sglang", "percent": 10}',
    }
    plan = run_program("gpu", overrides)
    assert [e["engine"] for e in deployed_engines(tmp_path, "gpu", overrides)] == ["vllm", "sglang"]
    deployment = one(plan, ":Deployment", "sglang")
    main = container(deployment)
    collector = tracing_pipeline.endpoints(stack_cfg("gpu", overrides).namespaces.tracing).otlp_grpc
    assert flag(main["args"], "--otlp-traces-endpoint") == collector.authority
    assert "--enable-trace" in main["args"] and "--enable-metrics" in main["args"]
    assert main["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert pod_spec(deployment)["runtimeClassName"] == "nvidia"
    assert one(plan, ":Service", "sglang").namespace == "llm"
    assert one(plan, ":ServiceMonitor", "sglang")
    startup = main["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= stack_cfg("gpu").sglang.startup_timeout_seconds
    assert math.isclose(float(flag(main["args"], "--mem-fraction-static")), 0.8)


def test_mock_canary_on_the_gpu_stack(tmp_path: Path) -> None:
    overrides = {"gateway.canary": '{"primary": "vllm", "canary": "mock", "percent": 5}'}
    plan = run_program("gpu", overrides)
    engines = deployed_engines(tmp_path, "gpu", overrides)
    assert [e["engine"] for e in engines] == ["vllm", "mock"]
    assert engines[1]["service"] == {
        "name": "mock-llm", "namespace": "llm", "port": 8000, "app_protocol": "http", "target_port": None
    }
    assert "nvidia.com/gpu" not in json.dumps(one(plan, ":Deployment", "mock-llm").inputs)
