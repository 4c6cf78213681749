"""Dcgm in the plan: RuntimeClass, device plugin and DCGM exporter on the gpu stack only."""

from __future__ import annotations

from typing import Any

import pytest

import config
from components import dcgm
from offline.plan import Plan, Resource
from offline.runner import run_program


def chart(plan: Plan, name: str) -> Resource:
    (found,) = [c for c in plan.charts() if c.inputs.get("chart") == name]
    return found


def values(plan: Plan, name: str) -> dict[str, Any]:
    return dict(chart(plan, name).inputs["values"])


def test_runtime_class_and_pinned_charts_in_the_gpu_namespace(gpu_plan: Plan) -> None:
    (runtime_class,) = gpu_plan.k8s("RuntimeClass")
    assert runtime_class.k8s_name == "nvidia" and runtime_class.inputs["handler"] == "nvidia"
    plugin, exporter = chart(gpu_plan, "nvidia-device-plugin"), chart(gpu_plan, "dcgm-exporter")
    assert plugin.inputs["version"] == "0.20.0" and exporter.inputs["version"] == "4.8.2"
    # the device plugin chart refuses `default`; both live in the (never injected) gpu namespace
    assert plugin.inputs["namespace"] == exporter.inputs["namespace"] == "nvidia-gpu"
    assert gpu_plan.depends_on(plugin.urn, runtime_class.urn)


def test_exporter_chart_waits_for_monitoring_crds(gpu_plan: Plan) -> None:
    exporter = chart(gpu_plan, "dcgm-exporter")
    kps = chart(gpu_plan, "kube-prometheus-stack")
    assert values(gpu_plan, "dcgm-exporter")["serviceMonitor"]["enabled"] is True
    assert kps.urn in exporter.dependencies, "the chart renders a ServiceMonitor: it needs the CRDs first"


def test_gpu_pods_use_the_runtime_class_and_tolerate_gpu_taints(gpu_plan: Plan) -> None:
    for name in ("nvidia-device-plugin", "dcgm-exporter"):
        chart_values = values(gpu_plan, name)
        assert chart_values["runtimeClassName"] == "nvidia"
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in chart_values["tolerations"]
        assert chart_values["resources"]["requests"] and chart_values["resources"]["limits"]
    assert values(gpu_plan, "dcgm-exporter")["podLabels"] == {"sidecar.istio.io/inject": "false"}


def test_exporter_endpoint_matches_the_chart_service(gpu_plan: Plan) -> None:
    exporter_values = values(gpu_plan, "dcgm-exporter")
    ref = dcgm.exporter_endpoint(config.StackConfig(gpu=config.Gpu(enabled=True)).namespaces.gpu)
    assert (ref.name, ref.port) == (exporter_values["fullnameOverride"], exporter_values["service"]["port"])
    assert ref.namespace == chart(gpu_plan, "dcgm-exporter").inputs["namespace"]


def _terms(plan: Plan, chart: str) -> list[dict[str, object]]:
    return list(values(plan, chart)["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ])


GPU_PRESENT = {"key": "nvidia.com/gpu.present", "operator": "In", "values": ["true"]}


def test_placement_follows_gpu_node_selector(gpu_plan: Plan) -> None:
    # default: GPU nodes only, by the label GPU Feature Discovery (or K3sHost) sets; both daemons alike
    for chart in ("nvidia-device-plugin", "dcgm-exporter"):
        assert _terms(gpu_plan, chart) == [{"matchExpressions": [GPU_PRESENT]}], chart
    plan = run_program("gpu", {"gpu.nodeSelector": '{"pool": "a100"}'})
    pool = {"key": "pool", "operator": "In", "values": ["a100"]}
    for chart in ("nvidia-device-plugin", "dcgm-exporter"):
        assert _terms(plan, chart) == [{"matchExpressions": [pool, GPU_PRESENT]}], chart
    anywhere = run_program("gpu", {"gpu.nodeLabel": ""})
    assert _terms(anywhere, "dcgm-exporter") == [
        {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}
    ], "no label rule: every Linux node, as before"
    (deployment,) = [r for r in plan.k8s("Deployment") if r.k8s_name == "vllm"]
    assert deployment.inputs["spec"]["template"]["spec"]["nodeSelector"] == {"pool": "a100"}


def test_device_plugin_can_be_left_to_the_cluster() -> None:
    plan = run_program("gpu", {"gpu.installDevicePlugin": "false"})
    assert not [c for c in plan.charts() if c.inputs.get("chart") == "nvidia-device-plugin"]
    assert chart(plan, "dcgm-exporter")


@pytest.mark.parametrize("runtime_class", ["nvidia-cdi"])
def test_runtime_class_name_is_configurable(runtime_class: str) -> None:
    plan = run_program("gpu", {"gpu.runtimeClassName": runtime_class})
    (rc,) = plan.k8s("RuntimeClass")
    assert rc.k8s_name == runtime_class and rc.inputs["handler"] == dcgm.RUNTIME_HANDLER
    (deployment,) = [r for r in plan.k8s("Deployment") if r.k8s_name == "vllm"]
    assert deployment.inputs["spec"]["template"]["spec"]["runtimeClassName"] == runtime_class
    assert values(plan, "dcgm-exporter")["runtimeClassName"] == runtime_class


def test_dev_has_no_gpu_components(dev_plan: Plan) -> None:
    assert not [r for r in dev_plan.resources if r.type == "llm-tracing-infra:dcgm:Dcgm"]
    assert not list(dev_plan.k8s("RuntimeClass"))
    assert not [c for c in dev_plan.charts() if c.inputs.get("chart") in ("nvidia-device-plugin", "dcgm-exporter")]
