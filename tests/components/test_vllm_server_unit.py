"""VllmServer alone: its command line from its section, placement from the GPU runtime, the given namespace."""

from __future__ import annotations

from offline.plan import SECRET, Plan
from offline.runner import FAKE_SECRET
from tests.components.conftest import Build, named, of_kind

SOURCE = """
import pulumi
import pulumi_kubernetes as k8s
from components.contracts import CrdReadiness, GpuRuntime, NamespaceRef, ServiceRef, TracingEndpoints
from components.vllm_server import VllmServer, VllmServerArgs
from config.sections import Vllm

plugin = k8s.core.v1.ConfigMap("stand-in-device-plugin", data={{}})
crds = CrdReadiness("monitoring.coreos.com", k8s.core.v1.ConfigMap("stand-in-crds", data={{}}))
otel = ServiceRef("otel", "traces", 4317, "grpc")
server = VllmServer("vllm", VllmServerArgs(
    settings=Vllm.model_validate({settings}),
    image="example.test/vllm:v1", namespace=NamespaceRef.existing("models"),
    gpu=GpuRuntime("nvidia-x", plugin, {{"gpu": "yes"}}),
    tracing=TracingEndpoints(otel, otel, otel, otel), monitoring_crds=crds, retain_cache={retain},
    hf_token=pulumi.Output.secret("{fake}") if {token} else None,
))
k8s.core.v1.ConfigMap("endpoint-probe", data={{"url": server.endpoint.service.url(), "model": server.endpoint.model}})
"""


def server(
    build: Build, settings: dict[str, object] | None = None, *, retain: bool = True, token: bool = False
) -> Plan:
    return build(SOURCE.format(settings=repr(settings or {}), retain=retain, token=token, fake=FAKE_SECRET))


def flag(args: list[str], name: str) -> str:
    assert args.count(name) == 1, f"{name} must appear once in {args}"
    return args[args.index(name) + 1]


def test_command_line_from_the_section_and_the_collector(build: Build) -> None:
    plan = server(build, {"model": "org/model-x", "gpuMemoryUtilization": 0.7, "tensorParallelSize": 2,
                          "extraArgs": ["--enforce-eager"]})
    (deployment,) = of_kind(plan, "Deployment")
    (main,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
    args = main["args"]
    assert flag(args, "--model") == "org/model-x" and flag(args, "--gpu-memory-utilization") == "0.7"
    assert flag(args, "--otlp-traces-endpoint") == "grpc://otel.traces.svc.cluster.local:4317"
    assert args[-1] == "--enforce-eager"
    assert main["image"] == "example.test/vllm:v1"
    assert main["resources"]["limits"]["nvidia.com/gpu"] == "2"


def test_placement_from_the_gpu_runtime_and_the_section(build: Build) -> None:
    plan = server(build, {"nodeSelector": {"zone": "a"}})
    (deployment,) = of_kind(plan, "Deployment")
    pod = deployment.inputs["spec"]["template"]["spec"]
    assert pod["runtimeClassName"] == "nvidia-x"
    assert pod["nodeSelector"] == {"gpu": "yes", "zone": "a"}
    assert plan.depends_on(deployment.urn, named(plan, "stand-in-device-plugin").urn)


def test_everything_in_the_given_namespace_and_the_endpoint_matches(build: Build) -> None:
    plan = server(build)
    namespaced = [r for r in plan.resources if r.is_kubernetes_object and r.namespace is not None]
    assert {r.namespace for r in namespaced} == {"models"}
    (service,) = of_kind(plan, "Service")
    probe = named(plan, "endpoint-probe").inputs["data"]
    assert probe["url"] == f"http://{service.k8s_name}.models.svc.cluster.local:8000"
    assert probe["model"] == "Qwen/Qwen2.5-3B-Instruct"
    (monitor,) = of_kind(plan, "ServiceMonitor")
    assert named(plan, "stand-in-crds").urn in monitor.dependencies


def test_cache_retention_and_token_follow_the_inputs(build: Build) -> None:
    kept = server(build, token=True)
    (claim,) = of_kind(kept, "PersistentVolumeClaim")
    assert claim.options.get("retainOnDelete") is True
    (token,) = of_kind(kept, "Secret")
    assert token.inputs["stringData"] == SECRET
    dropped = server(build, retain=False)
    (claim,) = of_kind(dropped, "PersistentVolumeClaim")
    assert not claim.options.get("retainOnDelete")
    assert not of_kind(dropped, "Secret")
