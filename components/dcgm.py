"""Dcgm: what makes a GPU schedulable and visible: RuntimeClass, device plugin, DCGM exporter.

* The ``nvidia`` RuntimeClass (handler ``nvidia``): k3s registers the NVIDIA container runtime
  under that handler but keeps runc as the default, so every pod that touches the GPU names it.
* NVIDIA's device plugin chart advertises ``nvidia.com/gpu``; GPU workloads wait for it
  (``device_plugin``). Its default node affinity wants Node Feature Discovery labels, which a
  plain k3s node lacks, so placement here is ``gpu.nodeLabel=true`` (GPU Feature Discovery's
  label, which ``K3sHost`` sets on its node) and ``gpu.nodeSelector``: GPU nodes only.
* The dcgm-exporter chart, a DaemonSet with its Service and ServiceMonitor (port 9400). The
  chart renders the ServiceMonitor itself, so the whole chart waits for the monitoring CRDs.
  MonitoringStack provisions the GPU dashboard and alert rules on its metrics.

The ``gpu`` namespace is never injected: these are host-level agents without a sidecar.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict

import versions
from components._k8s import NO_SIDECAR_LABELS, TOKEN_PREFIX, labels
from components.charts import helm_chart
from components.contracts import CrdReadiness, GpuRuntime, NamespaceRef, ServiceRef
from config.sections import Charts, Gpu

RUNTIME_HANDLER = "nvidia"
"""containerd runtime name k3s gives the NVIDIA container runtime."""
DEVICE_PLUGIN_FULLNAME = "nvidia-device-plugin"
EXPORTER_FULLNAME = "dcgm-exporter"
EXPORTER_PORT = 9400


class DcgmArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    settings: Gpu
    namespace: NamespaceRef
    device_plugin_chart: versions.ChartPin
    exporter_chart: versions.ChartPin
    charts: Charts
    """Where charts come from (``charts`` section)."""
    monitoring_crds: CrdReadiness


def exporter_endpoint(namespace: str) -> ServiceRef:
    """The exporter's Service (chart template ``service.yaml``: fullname, port ``metrics``)."""
    return ServiceRef(EXPORTER_FULLNAME, namespace, EXPORTER_PORT, "http")


def _tolerations(gpu: Gpu) -> list[dict[str, Any]]:
    """``gpu.tolerations`` and, on a dedicated GPU pool, its taint (deduplicated)."""
    found: list[dict[str, Any]] = []
    for t in [*gpu.tolerations, *gpu.node_pool.tolerations()]:
        if (dumped := t.model_dump(by_alias=True, exclude_none=True)) not in found:
            found.append(dumped)
    return found


def gpu_nodes(gpu: Gpu) -> dict[str, str]:
    """The GPU node selector: ``gpu.nodeSelector`` plus the dedicated pool's label."""
    return {**gpu.node_selector, **gpu.node_pool.selector()}


def gpu_node_affinity(gpu: Gpu) -> dict[str, Any]:
    """Only GPU nodes: ``gpu.nodeLabel=true``, ``gpu.nodeSelector`` and the dedicated pool's label
    (with none of them, every Linux node).

    Both daemons run with ``runtimeClassName: nvidia``, which a CPU-only node cannot start.
    """
    selector = gpu_nodes(gpu)
    match = [{"key": k, "operator": "In", "values": [v]} for k, v in selector.items()]
    if gpu.node_label and gpu.node_label not in selector:
        match.append({"key": gpu.node_label, "operator": "In", "values": ["true"]})
    terms = [{"matchExpressions": match or [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}]
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}


def device_plugin_values(gpu: Gpu) -> dict[str, Any]:
    return {
        "fullnameOverride": DEVICE_PLUGIN_FULLNAME,
        "runtimeClassName": gpu.runtime_class_name,
        # Replaces the chart's NFD-label affinity (lists are replaced, not merged, by Helm).
        "affinity": gpu_node_affinity(gpu),
        "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}, *_tolerations(gpu)],
        "resources": gpu.device_plugin_resources.as_k8s(),
    }


def exporter_values(gpu: Gpu) -> dict[str, Any]:
    return {
        "fullnameOverride": EXPORTER_FULLNAME,
        "runtimeClassName": gpu.runtime_class_name,
        "affinity": gpu_node_affinity(gpu),
        "tolerations": _tolerations(gpu),
        "resources": gpu.exporter_resources.as_k8s(),
        "podLabels": dict(NO_SIDECAR_LABELS),
        "service": {"enable": True, "port": EXPORTER_PORT},
        "serviceMonitor": {"enabled": True, "interval": "15s"},
    }


class Dcgm(pulumi.ComponentResource):
    runtime_class_name: str
    """RuntimeClass GPU pods must run with (k3s + NVIDIA container toolkit)."""
    device_plugin: pulumi.Resource
    """What GPU workloads wait for: ``nvidia.com/gpu`` is allocatable only once it runs."""
    exporter: ServiceRef
    """DCGM exporter metrics (Prometheus format)."""
    runtime: GpuRuntime
    """What GPU workloads take from here: RuntimeClass, device plugin, GPU node selector."""

    def __init__(self, name: str, args: DcgmArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TOKEN_PREFIX}:dcgm:Dcgm", name, None, opts)
        gpu = args.settings
        self.runtime_class_name = gpu.runtime_class_name
        self.exporter = exporter_endpoint(args.namespace.name)
        runtime_class = k8s.node.v1.RuntimeClass(
            f"{name}-runtime-class",
            metadata={"name": self.runtime_class_name, "labels": labels("nvidia-runtime", "gpu")},
            handler=RUNTIME_HANDLER,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.device_plugin = runtime_class
        if gpu.install_device_plugin:
            self.device_plugin = helm_chart(
                f"{name}-device-plugin",
                args.device_plugin_chart,
                args.charts,
                namespace=args.namespace.output,
                values=device_plugin_values(gpu),
                # Its pods run with the RuntimeClass, which must exist before they are admitted.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[runtime_class]),
            )
        helm_chart(
            f"{name}-dcgm-exporter",
            args.exporter_chart,
            args.charts,
            namespace=args.namespace.output,
            values=exporter_values(gpu),
            # The chart renders its own ServiceMonitor: all of it waits for the monitoring CRDs.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.monitoring_crds.resource, runtime_class]),
        )
        self.runtime = GpuRuntime(
            self.runtime_class_name,
            self.device_plugin,
            gpu_nodes(gpu),
            [t.model_dump(by_alias=True, exclude_none=True) for t in gpu.node_pool.tolerations()],
        )
        self.register_outputs({})
