"""Dcgm alone: RuntimeClass, device plugin and exporter from the gpu section, in the given namespace."""

from __future__ import annotations

from offline.plan import Plan
from tests.components.conftest import Build, named, of_kind

SOURCE = """
import pulumi_kubernetes as k8s
import versions
from components.contracts import CrdReadiness, NamespaceRef
from components.dcgm import Dcgm, DcgmArgs
from config.sections import Charts, Gpu

crds = CrdReadiness("monitoring.coreos.com", k8s.core.v1.ConfigMap("stand-in-crds", data={{}}))
gpu = Dcgm("gpu", DcgmArgs(
    settings=Gpu.model_validate({settings}), namespace=NamespaceRef.existing("gpu-agents"),
    device_plugin_chart=versions.CHARTS["nvidia-device-plugin"], exporter_chart=versions.CHARTS["dcgm-exporter"],
    charts=Charts(), monitoring_crds=crds,
))
k8s.core.v1.ConfigMap("runtime-probe", data={{
    "runtimeClass": gpu.runtime.runtime_class_name, "exporter": gpu.exporter.url(),
    "nodeSelector": ",".join(f"{{k}}={{v}}" for k, v in gpu.runtime.node_selector.items()),
}}, opts=pulumi.ResourceOptions(depends_on=[gpu.runtime.device_plugin]))
"""


def dcgm(build: Build, settings: dict[str, object]) -> Plan:
    return build("import pulumi\n" + SOURCE.format(settings=repr(settings)))


def test_runtime_class_plugin_and_exporter(build: Build) -> None:
    plan = dcgm(build, {"enabled": True, "runtimeClassName": "nv", "nodeSelector": {"gpu": "yes"}})
    (runtime_class,) = of_kind(plan, "RuntimeClass")
    assert runtime_class.k8s_name == "nv" and runtime_class.inputs["handler"] == "nvidia"
    plugin, exporter = named(plan, "gpu-device-plugin"), named(plan, "gpu-dcgm-exporter")
    assert plugin.inputs["namespace"] == exporter.inputs["namespace"] == "gpu-agents"
    terms = exporter.inputs["values"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms["nodeSelectorTerms"][0]["matchExpressions"] == [
        {"key": "gpu", "operator": "In", "values": ["yes"]},
        {"key": "nvidia.com/gpu.present", "operator": "In", "values": ["true"]},
    ]
    assert exporter.inputs["values"]["runtimeClassName"] == "nv"
    assert plan.depends_on(exporter.urn, named(plan, "stand-in-crds").urn)
    assert plan.depends_on(plugin.urn, runtime_class.urn)


def test_the_runtime_it_hands_to_engines(build: Build) -> None:
    plan = dcgm(build, {"enabled": True, "runtimeClassName": "nv", "nodeSelector": {"gpu": "yes"}})
    probe = named(plan, "runtime-probe")
    assert probe.inputs["data"] == {
        "runtimeClass": "nv", "exporter": "http://dcgm-exporter.gpu-agents.svc.cluster.local:9400",
        "nodeSelector": "gpu=yes",
    }
    assert plan.depends_on(probe.urn, named(plan, "gpu-device-plugin").urn)


def test_without_the_device_plugin_engines_wait_for_the_runtime_class(build: Build) -> None:
    plan = dcgm(build, {"enabled": True, "installDevicePlugin": False})
    assert not [r for r in plan.resources if r.name == "gpu-device-plugin"]
    (runtime_class,) = of_kind(plan, "RuntimeClass")
    assert plan.depends_on(named(plan, "runtime-probe").urn, runtime_class.urn)
