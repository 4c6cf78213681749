"""IstioMesh: the platform's namespaces and the mesh they live in.

Install order is the point of this component, and each step names its predecessor in
``depends_on``: Gateway API CRDs (experimental channel, so GRPCRoute and friends exist) ->
Istio ``base`` (Istio CRDs, validation webhook) -> ``istiod``. istiod watches the Gateway API
kinds that exist when it starts; registered before the CRDs, it would not program the Gateway.

mTLS. Every workload namespace gets a namespace-wide ``PeerAuthentication`` from
``istio.mtls`` (PERMISSIVE unless set), and the root namespace a mesh-wide PERMISSIVE baseline.
Workloads without a sidecar are the exceptions STRICT would break:

* hostNetwork DaemonSets (node-exporter, DCGM) and Jobs carry ``sidecar.istio.io/inject=false``:
  they have no mesh identity, so as *clients* they can only speak plain text. A STRICT
  namespace rejects them. The offline check ``check_mtls_plaintext_clients`` fails the preview
  when such a workload calls a Service in a STRICT namespace, naming both.
* The ``gpu`` namespace (device plugin, DCGM: host-level, privileged) is never injected and gets
  no PeerAuthentication: with no sidecars there, a policy would have nothing to act on.
* As servers, sidecar-less pods are unaffected: PeerAuthentication acts on sidecars only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml
from pydantic import BaseModel, ConfigDict

import versions
from components._k8s import TOKEN_PREFIX, ServiceRef, labels
from components.charts import helm_chart
from config import ConfigError, StackConfig

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

    config: StackConfig
    collector: ServiceRef
    """OTLP/gRPC port of the collector: the mesh exports its spans there."""


def gateway_api_bundle(cfg: StackConfig) -> list[str]:
    """Where the Gateway API CRD bundle comes from: a local copy when given, else the upstream release.

    ``istio.gatewayApiBundle`` (``{version}`` is replaced by the pin) names a file, or a directory
    holding either ``gateway-api-<version>-experimental-install.yaml`` or the per-CRD files of the
    upstream ``config/crd/experimental`` directory (the files its ``kustomization.yaml`` lists).
    Unset, a ``charts.mirror`` directory is searched for the install file. Local CRDs are checked
    against the pin (``bundle-version`` annotation): a stale copy is a config error, not a downgrade.
    """
    version = cfg.versions.gateway_api
    local = cfg.istio.gateway_api_bundle
    install = f"gateway-api-{version}-experimental-install.yaml"
    if local is None and cfg.charts.source == "mirror" and cfg.charts.mirror and "://" not in cfg.charts.mirror:
        local = cfg.charts.mirror
    if local is None:
        return [versions.GATEWAY_API_BUNDLE_URL.format(version=version)]
    path = Path(local.replace("{version}", version)).expanduser().absolute()
    files = [path]
    if path.is_dir() and not (path / install).is_file() and (path / "kustomization.yaml").is_file():
        listed = yaml.safe_load((path / "kustomization.yaml").read_text()).get("resources", [])
        files = [path / name for name in listed]
    elif path.is_dir():
        files = [path / install]
    _check_bundle_version(files, version)
    return [str(f) for f in files]


def _check_bundle_version(files: list[Path], version: str) -> None:
    found: set[str] = set()
    for file in (f for f in files if f.is_file()):
        for doc in yaml.safe_load_all(file.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                annotations = (doc.get("metadata") or {}).get("annotations") or {}
                found.add(str(annotations.get("gateway.networking.k8s.io/bundle-version")))
    if found and found != {version}:
        raise ConfigError(
            [
                f"llm-tracing-infra:istio.gatewayApiBundle: {files[0].parent} holds Gateway API CRDs {sorted(found)}, "
                f"but llm-tracing-infra:versions.gatewayApi={version}; use the bundle of the pinned version"
            ]
        )


def mtls_mode(cfg: StackConfig, key: str) -> str:
    """The namespace's PeerAuthentication mode: ``istio.mtls.<key>``, PERMISSIVE when unset."""
    modes: dict[str, str] = {str(k): v for k, v in cfg.istio.mtls.items()}
    return modes.get(key, "PERMISSIVE")


def istiod_values(cfg: StackConfig, collector: ServiceRef) -> dict[str, Any]:
    """istiod chart values: pinned images, resources, and tracing through the collector."""
    return {
        "global": {
            "hub": ISTIO_HUB,
            "tag": cfg.versions.istio,
            "istioNamespace": cfg.namespaces.istio,
            "proxy": {"resources": cfg.istio.proxy_resources.as_k8s()},
        },
        "resources": cfg.istio.resources.as_k8s(),
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

    def __init__(self, name: str, args: IstioMeshArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TOKEN_PREFIX}:istio_mesh:IstioMesh", name, None, opts)
        cfg = args.config
        istio_ns = k8s.core.v1.Namespace(
            f"{name}-ns-istio",
            metadata={"name": cfg.namespaces.istio, "labels": labels("istio", "mesh")},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.namespaces = {key: self._namespace(name, cfg, key) for key in NAMESPACE_KEYS}

        # Server-side applied (the provider's default), so re-applying a newer bundle never
        # fights another field manager over the CRDs.
        bundle = gateway_api_bundle(cfg)
        crd_opts = pulumi.ResourceOptions(parent=self)
        self.gateway_api_crds = (
            k8s.yaml.v2.ConfigFile(f"{name}-gateway-api-crds", file=bundle[0], opts=crd_opts)
            if len(bundle) == 1
            else k8s.yaml.v2.ConfigGroup(f"{name}-gateway-api-crds", files=bundle, opts=crd_opts)
        )
        base = helm_chart(
            f"{name}-base",
            versions.ChartPin("base", cfg.versions.istio, versions.ISTIO_REPO),
            cfg.charts,
            namespace=istio_ns.metadata.name,
            values={"global": {"istioNamespace": cfg.namespaces.istio}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.gateway_api_crds]),
        )
        self.istiod = helm_chart(
            f"{name}-istiod",
            versions.ChartPin("istiod", cfg.versions.istio, versions.ISTIO_REPO),
            cfg.charts,
            namespace=istio_ns.metadata.name,
            values=istiod_values(cfg, args.collector),
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
                        "randomSamplingPercentage": cfg.istio.tracing_sampling_percent,
                    }
                ]
            },
            opts=after_istiod,
        )
        self._peer_authentications(name, cfg, istio_ns.metadata.name, after_istiod)
        self._injected = {key for key in NAMESPACE_KEYS if key in cfg.istio.inject_namespaces}
        self.register_outputs({"namespaces": self.namespaces})

    def ready_for(self, key: str) -> list[pulumi.Resource]:
        """What workloads in namespace ``key`` wait for besides the namespace itself.

        In an injected namespace, pods created before istiod's injector answers start without a
        sidecar: they wait for the whole mesh. Elsewhere nothing does, so those components start
        in the first wave instead of after istiod (see bench/critical_path.py).
        """
        return [self] if key in self._injected else []

    def _namespace(self, name: str, cfg: StackConfig, key: str) -> pulumi.Output[str]:
        injected = key in cfg.istio.inject_namespaces and key not in NEVER_INJECTED
        namespace = k8s.core.v1.Namespace(
            f"{name}-ns-{key}",
            metadata={
                "name": getattr(cfg.namespaces, key),
                "labels": {**labels(key, "namespace"), "istio-injection": "enabled" if injected else "disabled"},
            },
            opts=pulumi.ResourceOptions(
                parent=self, retain_on_delete=cfg.storage.retain_on_destroy and key in DATA_NAMESPACES
            ),
        )
        return namespace.metadata.name

    def _peer_authentications(
        self, name: str, cfg: StackConfig, root: pulumi.Input[str], opts: pulumi.ResourceOptions
    ) -> None:
        # In the root namespace and without a selector, this is the mesh-wide default.
        k8s.apiextensions.CustomResource(
            f"{name}-mtls-mesh",
            api_version="security.istio.io/v1",
            kind="PeerAuthentication",
            metadata={"name": "default", "namespace": root},
            spec={"mtls": {"mode": "PERMISSIVE"}},
            opts=opts,
        )
        for key in NAMESPACE_KEYS:
            if key in NEVER_INJECTED:
                continue
            k8s.apiextensions.CustomResource(
                f"{name}-mtls-{key}",
                api_version="security.istio.io/v1",
                kind="PeerAuthentication",
                metadata={"name": "default", "namespace": self.namespaces[key]},
                spec={"mtls": {"mode": mtls_mode(cfg, key)}},
                opts=opts,
            )
