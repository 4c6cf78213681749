"""What the stack's file paths point at: the chart mirror and a local Gateway API CRD bundle.

These rules read the file system, so they are kept apart from the schema (``sections.py``);
``loading.validate`` runs them with the other rules, before any resource is registered.
"""

from __future__ import annotations

from pathlib import Path

import yaml

import versions
from config.sections import StackConfig
from config.types import PROJECT


def file_problems(stack: StackConfig) -> list[str]:
    """Problems with the chart mirror and the Gateway API bundle the stack names."""
    problems = _mirror_problems(stack)
    try:
        gateway_api_bundle(stack)
    except BundleError as exc:
        problems.append(str(exc))
    return problems


def charts_in_use(stack: StackConfig) -> list[versions.ChartPin]:
    """The pinned charts this stack installs (tests hold it equal to the charts in the plan)."""
    names = ["kube-prometheus-stack", "tempo", "opentelemetry-collector"]
    names += ["loki", "alloy"] if stack.logging.enabled else []
    names += ["dcgm-exporter"] if stack.gpu.enabled else []
    names += ["nvidia-device-plugin"] if stack.gpu.enabled and stack.gpu.install_device_plugin else []
    names += ["langfuse", "clickhouse-operator-helm"] if stack.langfuse.enabled else []
    names += ["cert-manager"] if stack.needs_cert_manager() and stack.cert_manager.install else []
    names += ["keda"] if stack.autoscaling.enabled and stack.autoscaling.install_keda else []
    karpenter = stack.cloud.karpenter
    names += ["karpenter-crd"] if karpenter.enabled and karpenter.install_crds else []
    names += ["karpenter"] if karpenter.enabled and karpenter.install_controller else []
    istio = [versions.ChartPin(n, stack.versions.istio, versions.ISTIO_REPO) for n in ("base", "istiod")]
    return istio + [stack.versions.chart(n) for n in names]


def _mirror_problems(stack: StackConfig) -> list[str]:
    """A mirror directory must hold every pinned chart the stack installs, at the pinned version."""
    mirror = stack.charts.mirror
    if stack.charts.source != "mirror" or not mirror or mirror.startswith(("http://", "https://", "oci://")):
        return []
    directory = Path(mirror).expanduser()
    if not directory.is_dir():
        return [f"{PROJECT}:charts.mirror={mirror} is not a directory (or a Helm repository URL)"]
    missing = [
        f"{pin.name}-{pin.version}.tgz"
        for pin in charts_in_use(stack)
        if not (directory / f"{pin.name}-{pin.version}.tgz").exists()
    ]
    if not missing:
        return []
    return [
        f"{PROJECT}:charts.mirror={mirror} lacks {', '.join(missing)}: add the pinned charts to the mirror "
        f"(helm pull <repo>/<chart> --version <pin>), or pin what the mirror has with {PROJECT}:versions.charts"
    ]



class BundleError(ValueError):
    """A local Gateway API bundle that does not hold the pinned version."""


def gateway_api_bundle(stack: StackConfig) -> list[str]:
    """Where the Gateway API CRD bundle comes from: a local copy when given, else the upstream release.

    ``istio.gatewayApiBundle`` (``{version}`` is replaced by the pin) names a file, or a directory
    holding either ``gateway-api-<version>-experimental-install.yaml`` or the per-CRD files of the
    upstream ``config/crd/experimental`` directory (the files its ``kustomization.yaml`` lists).
    Unset, a ``charts.mirror`` directory is searched for the install file. Local CRDs are checked
    against the pin (``bundle-version`` annotation): a stale copy is a config error, not a downgrade.
    """
    version = stack.versions.gateway_api
    local = stack.istio.gateway_api_bundle
    install = f"gateway-api-{version}-experimental-install.yaml"
    mirror = stack.charts.mirror
    if local is None and stack.charts.source == "mirror" and mirror and "://" not in mirror:
        local = mirror
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
        raise BundleError(
            f"{PROJECT}:istio.gatewayApiBundle: {files[0].parent} holds Gateway API CRDs {sorted(found)}, "
            f"but {PROJECT}:versions.gatewayApi={version}; use the bundle of the pinned version"
        )
