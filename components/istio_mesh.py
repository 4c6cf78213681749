"""IstioMesh: the platform's namespaces, Gateway API CRDs, Istio base and istiod."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict

import versions
from components._k8s import TOKEN_PREFIX, ServiceRef
from components.charts import helm_chart
from config import StackConfig

NAMESPACE_KEYS = ("tracing", "monitoring", "llm", "litellm", "langfuse", "logging", "gpu")


class IstioMeshArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    config: StackConfig
    collector: ServiceRef
    """OTLP/gRPC port of the collector: istiod's tracing extension provider exports there."""


class IstioMesh(pulumi.ComponentResource):
    namespaces: dict[str, pulumi.Output[str]]
    """Platform namespace key -> namespace name, resolved once the Namespace exists."""
    gateway_api_crds: pulumi.Resource
    """The Gateway API CRD bundle; Gateway API objects depend on it."""
    istiod: pulumi.Resource
    """The istiod chart."""

    def __init__(self, name: str, args: IstioMeshArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TOKEN_PREFIX}:istio_mesh:IstioMesh", name, None, opts)
        cfg = args.config
        istio_ns = k8s.core.v1.Namespace(
            f"{name}-ns-istio", metadata={"name": cfg.namespaces.istio}, opts=pulumi.ResourceOptions(parent=self)
        )
        self.namespaces = {}
        for key in NAMESPACE_KEYS:
            labels = {"istio-injection": "enabled"} if key in cfg.istio.inject_namespaces else {}
            ns = k8s.core.v1.Namespace(
                f"{name}-ns-{key}",
                metadata={"name": getattr(cfg.namespaces, key), "labels": labels},
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.namespaces[key] = ns.metadata.apply(lambda m: m["name"])
        self.gateway_api_crds = k8s.yaml.v2.ConfigFile(
            f"{name}-gateway-api-crds",
            file=versions.GATEWAY_API_BUNDLE_URL.format(version=cfg.versions.gateway_api),
            opts=pulumi.ResourceOptions(parent=self),
        )
        base = helm_chart(
            f"{name}-base", versions.ChartPin("base", cfg.versions.istio, versions.ISTIO_REPO), cfg.charts,
            namespace=istio_ns.metadata.name, values={},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.gateway_api_crds]),
        )
        self.istiod = helm_chart(
            f"{name}-istiod", versions.ChartPin("istiod", cfg.versions.istio, versions.ISTIO_REPO), cfg.charts,
            namespace=istio_ns.metadata.name, values={},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[base]),
        )
        self.register_outputs({"namespaces": self.namespaces})
