"""Dcgm: NVIDIA device plugin, the ``nvidia`` RuntimeClass and the DCGM exporter. Minimal interface; being built out."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict

import config
from components._k8s import TOKEN_PREFIX


class DcgmArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    config: config.StackConfig
    namespace: pulumi.Input[str]
    monitoring_crds: pulumi.Resource


class Dcgm(pulumi.ComponentResource):
    runtime_class_name: str
    """RuntimeClass GPU pods must run with (k3s + NVIDIA container toolkit)."""
    device_plugin: pulumi.Resource
    """What GPU workloads wait for: ``nvidia.com/gpu`` is allocatable only once it runs."""

    def __init__(self, name: str, args: DcgmArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TOKEN_PREFIX}:dcgm:Dcgm", name, None, opts)
        cfg = args.config
        self.runtime_class_name = cfg.gpu.runtime_class_name
        self.device_plugin = k8s.node.v1.RuntimeClass(
            f"{name}-runtime-class",
            metadata={"name": self.runtime_class_name},
            handler="nvidia",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({})
