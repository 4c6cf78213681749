"""IstioMesh: the platform's namespaces and the mesh they live in.

Install order is the point of this component, and each step names its predecessor in
``depends_on``: Gateway API CRDs (experimental channel, so GRPCRoute and friends exist) ->
Istio ``base`` (Istio CRDs, validation webhook) -> ``istiod``. istiod watches the Gateway API
kinds that exist when it starts; registered before the CRDs, it would not program the Gateway.

mTLS. The root namespace gets the mesh-wide PERMISSIVE baseline here; each platform namespace's
own ``PeerAuthentication`` comes later, from the edge list (``components.mtls``: STRICT wherever
no client without a sidecar remains). The ``gpu`` namespace (device plugin, DCGM: host-level,
privileged) is never injected and gets none: with no sidecars there, a policy has nothing to act on.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict

import versions
from components import pod_security
from components._k8s import TOKEN_PREFIX, labels
from components.charts import helm_chart
from components.contracts import NamespaceRef, ServiceRef
from config.sections import Charts, Istio, Namespaces

NAMESPACE_KEYS = ("tracing", "monitoring", "llm", "litellm", "langfuse", "logging", "gpu")
"""Keys of ``IstioMesh.namespaces``: every platform namespace except Istio's own."""

NEVER_INJECTED = ("gpu",)
# Namespaces that hold data volumes. Deleting a namespace deletes every claim in it, so with
# storage.retainOnDestroy these namespaces outlive `pulumi destroy` together with their volumes.
DATA_NAMESPACES = ("tracing", "monitoring", "llm", "langfuse", "logging")
"""Namespaces of host-level agents (privileged, hostNetwork): never in the mesh."""

TRACING_PROVIDER = "otel-tracing"
"""Name of the OpenTelemetry extension provider in meshConfig, referenced by the Telemetry resource."""

ISTIO_HUB = "docker.io/istio"
"""Release images; the packaged charts default to the testing hub and ``latest``."""


class IstioMeshArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    settings: Istio
    namespaces: Namespaces
    """Every platform namespace is created here (``IstioMesh.namespace``), injected or not."""
    istio_version: str
    gateway_api_bundle: list[str]
    """The Gateway API CRD bundle: one URL or file, or the per-CRD files (``config.gateway_api_bundle``)."""
    charts: Charts
    """Where charts come from (``charts`` section)."""
    retain_data_namespaces: bool
    """Namespaces holding data volumes outlive `pulumi destroy` (``storage.retainOnDestroy``)."""
    collector: ServiceRef
    """The collector's OTLP/gRPC receiver for the mesh's spans (``TracingEndpoints.mesh_spans``: without a
    token, since the mesh config could carry one only in clear)."""


def istiod_values(istio: Istio, version: str, namespace: str, collector: ServiceRef) -> dict[str, Any]:
    """istiod chart values: pinned images, resources, and tracing through the collector."""
    return {
        "global": {
            "hub": ISTIO_HUB,
            "tag": version,
            "istioNamespace": namespace,
            "proxy": {"resources": istio.proxy_resources.as_k8s()},
        },
        "resources": istio.resources.as_k8s(),
        "meshConfig": {
            # The Telemetry resource picks this provider; the collector's OTLP/gRPC port, by reference.
            "extensionProviders": [
                {"name": TRACING_PROVIDER, "opentelemetry": {"service": collector.host, "port": collector.port}}
            ],
            "defaultProviders": {"tracing": [TRACING_PROVIDER]},
        },
    }


class IstioMesh(pulumi.ComponentResource):
    namespaces: dict[str, pulumi.Output[str]]
    """Namespace key -> name, resolved once the Namespace exists (keys: ``NAMESPACE_KEYS``)."""
    gateway_api_crds: pulumi.Resource
    """The Gateway API CRD bundle; every Gateway API object depends on it."""
    istiod: pulumi.Resource
    """The istiod chart: control plane, sidecar injector and Gateway controller."""
    istio_namespace: NamespaceRef
    """Istio's own namespace (istiod, the Gateway)."""
    injected: tuple[str, ...]
    """Names of the namespaces whose pods get sidecars."""

    def __init__(self, name: str, args: IstioMeshArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TOKEN_PREFIX}:istio_mesh:IstioMesh", name, None, opts)
        istio, names = args.settings, args.namespaces
        istio_ns = k8s.core.v1.Namespace(
            f"{name}-ns-istio",
            metadata={
                "name": names.istio, "labels": {**labels("istio", "mesh"), **pod_security.namespace_labels("istio")}
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._names = names
        self.istio_namespace = NamespaceRef(names.istio, istio_ns.metadata.name)
        self.namespaces = {key: self._namespace(name, args, key) for key in NAMESPACE_KEYS}

        # Server-side applied (the provider's default), so re-applying a newer bundle never
        # fights another field manager over the CRDs.
        bundle = args.gateway_api_bundle
        crd_opts = pulumi.ResourceOptions(parent=self)
        self.gateway_api_crds = (
            k8s.yaml.v2.ConfigFile(f"{name}-gateway-api-crds", file=bundle[0], opts=crd_opts)
            if len(bundle) == 1
            else k8s.yaml.v2.ConfigGroup(f"{name}-gateway-api-crds", files=bundle, opts=crd_opts)
        )
        base = helm_chart(
            f"{name}-base",
            versions.ChartPin("base", args.istio_version, versions.ISTIO_REPO),
            args.charts,
            namespace=istio_ns.metadata.name,
            values={"global": {"istioNamespace": names.istio}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.gateway_api_crds]),
        )
        self.istiod = helm_chart(
            f"{name}-istiod",
            versions.ChartPin("istiod", args.istio_version, versions.ISTIO_REPO),
            args.charts,
            namespace=istio_ns.metadata.name,
            values=istiod_values(istio, args.istio_version, names.istio, args.collector),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[base]),
        )
        # Istio resources pass istiod's validating webhook: they wait for it.
        after_istiod = pulumi.ResourceOptions(parent=self, depends_on=[self.istiod])
        k8s.apiextensions.CustomResource(
            f"{name}-tracing",
            api_version="telemetry.istio.io/v1",
            kind="Telemetry",
            metadata={"name": "mesh-default", "namespace": istio_ns.metadata.name},
            spec={
                "tracing": [
                    {
                        "providers": [{"name": TRACING_PROVIDER}],
                        "randomSamplingPercentage": istio.tracing_sampling_percent,
                    }
                ]
            },
            opts=after_istiod,
        )
        # In the root namespace and without a selector, this is the mesh-wide default.
        k8s.apiextensions.CustomResource(
            f"{name}-mtls-mesh",
            api_version="security.istio.io/v1",
            kind="PeerAuthentication",
            metadata={"name": "default", "namespace": istio_ns.metadata.name},
            spec={"mtls": {"mode": "PERMISSIVE"}},
            opts=after_istiod,
        )
        self._injected = {key for key in NAMESPACE_KEYS if key in istio.inject_namespaces}
        self.injected = tuple(
            str(getattr(names, key)) for key in NAMESPACE_KEYS if key in self._injected and key not in NEVER_INJECTED
        )
        self.register_outputs({"namespaces": self.namespaces})

    def ready_for(self, key: str) -> list[pulumi.Resource]:
        """What workloads in namespace ``key`` wait for besides the namespace itself.

        In an injected namespace, pods created before istiod's injector answers start without a
        sidecar: they wait for the whole mesh. Elsewhere nothing does, so those components start
        in the first wave instead of after istiod (see bench/critical_path.py).
        """
        return [self] if key in self._injected else []

    def namespace(self, key: str) -> NamespaceRef:
        """Namespace ``key``: its configured name, and the Output that waits for it to exist."""
        return NamespaceRef(str(getattr(self._names, key)), self.namespaces[key])

    def _namespace(self, name: str, args: IstioMeshArgs, key: str) -> pulumi.Output[str]:
        injected = key in args.settings.inject_namespaces and key not in NEVER_INJECTED
        namespace = k8s.core.v1.Namespace(
            f"{name}-ns-{key}",
            metadata={
                "name": getattr(args.namespaces, key),
                "labels": {
                    **labels(key, "namespace"), "istio-injection": "enabled" if injected else "disabled",
                    # Pod Security: the level each namespace's pods meet, and why (components/pod_security.py).
                    **pod_security.namespace_labels(key, injected=injected),
                },
            },
            opts=pulumi.ResourceOptions(
                parent=self, retain_on_delete=args.retain_data_namespaces and key in DATA_NAMESPACES
            ),
        )
        return namespace.metadata.name

