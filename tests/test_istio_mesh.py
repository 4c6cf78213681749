"""IstioMesh: install order, namespaces and injection, mTLS, mesh tracing, and where the CRD bundle comes from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest

import config
import versions
from components import charts, istio_mesh
from offline.plan import Plan
from offline.runner import run_program
from tests.conftest import resource_named
from tests.support import fake_mirror

MESH_ONLY = '''
import config
from components.contracts import ServiceRef
from components.istio_mesh import IstioMesh
from tests.support import mesh_args

cfg, secrets = config.load()
collector = ServiceRef("otel-collector", cfg.namespaces.tracing, 4317, "grpc")
IstioMesh("mesh", mesh_args(cfg, collector))
'''


def mesh_plan(tmp_path: Path, overrides: dict[str, str] | None = None) -> Plan:
    program = tmp_path / "mesh.py"
    program.write_text(MESH_ONLY)
    return run_program("dev", overrides, program=program)



def namespace_labels(plan: Plan) -> dict[str, dict[str, str]]:
    return {r.k8s_name: r.metadata["labels"] for r in plan.resources if r.kind == "Namespace"}


def peer_authentications(plan: Plan) -> dict[str, Any]:
    policies = [r for r in plan.resources if r.kind == "PeerAuthentication"]
    return {str(r.namespace): r.inputs["spec"]["mtls"]["mode"] for r in policies}


def test_install_order(tmp_path: Path) -> None:
    plan = mesh_plan(tmp_path)
    crds, base, istiod = (resource_named(plan, n).urn for n in ("mesh-gateway-api-crds", "mesh-base", "mesh-istiod"))
    assert crds in resource_named(plan, "mesh-base").dependencies
    assert base in resource_named(plan, "mesh-istiod").dependencies
    assert plan.depends_on(istiod, crds)
    for istio_object in ("mesh-tracing", "mesh-mtls-mesh"):
        assert istiod in resource_named(plan, istio_object).dependencies


def test_namespaces_and_injection(tmp_path: Path) -> None:
    labels = namespace_labels(mesh_plan(tmp_path))
    assert {ns: ls.get("istio-injection") for ns, ls in labels.items()} == {
        "istio-system": None, "tracing": "enabled", "monitoring": "enabled", "llm": "enabled",
        "litellm": "disabled", "langfuse": "disabled", "logging": "disabled", "nvidia-gpu": "disabled",
    }
    labels = namespace_labels(mesh_plan(tmp_path, {"istio.injectNamespaces": '["llm", "litellm"]'}))
    assert sorted(ns for ns, ls in labels.items() if ls.get("istio-injection") == "enabled") == ["litellm", "llm"]


@pytest.mark.parametrize("retain", [True, False])
def test_namespaces_holding_data_outlive_destroy_unless_opted_out(tmp_path: Path, retain: bool) -> None:
    # Deleting a namespace deletes its volume claims, so retained volumes need retained namespaces.
    plan = mesh_plan(tmp_path, {"storage.retainOnDestroy": str(retain).lower()})
    kept = sorted(r.k8s_name for r in plan.resources if r.kind == "Namespace" and r.options["retainOnDelete"])
    assert kept == (["langfuse", "llm", "logging", "monitoring", "tracing"] if retain else [])


def test_gpu_namespace_cannot_be_injected(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError, match=r"istio\.injectNamespaces"):
        mesh_plan(tmp_path, {"istio.injectNamespaces": '["gpu"]'})


def test_the_mesh_sets_only_the_mesh_wide_permissive_baseline(tmp_path: Path) -> None:
    """The namespaces' own policies come from the edge list (components/mtls.py, tests/test_mtls.py)."""
    assert peer_authentications(mesh_plan(tmp_path)) == {"istio-system": "PERMISSIVE"}


def test_istiod_values(tmp_path: Path) -> None:
    plan = mesh_plan(tmp_path, {"istio.resources": '{"requests": {"cpu": "200m", "memory": "512Mi"}, '
                                                   '"limits": {"cpu": "2", "memory": "2Gi"}}'})
    values = resource_named(plan, "mesh-istiod").inputs["values"]
    assert values["global"]["hub"] == "docker.io/istio"
    assert values["global"]["tag"] == versions.ISTIO
    assert values["resources"]["limits"] == {"cpu": "2", "memory": "2Gi"}
    (provider,) = values["meshConfig"]["extensionProviders"]
    assert provider["opentelemetry"] == {"service": "otel-collector.tracing.svc.cluster.local", "port": 4317}
    assert values["meshConfig"]["defaultProviders"]["tracing"] == [provider["name"]]
    assert resource_named(plan, "mesh-istiod").inputs["version"] == versions.ISTIO


def test_telemetry_samples_from_config(tmp_path: Path) -> None:
    plan = mesh_plan(tmp_path, {"istio.tracingSamplingPercent": "12.5"})
    telemetry = resource_named(plan, "mesh-tracing").inputs
    assert telemetry["metadata"]["namespace"] == "istio-system"
    (tracing,) = telemetry["spec"]["tracing"]
    assert tracing == {"providers": [{"name": istio_mesh.TRACING_PROVIDER}], "randomSamplingPercentage": 12.5}


def test_bundle_upstream_by_default(tmp_path: Path) -> None:
    source = resource_named(mesh_plan(tmp_path), "mesh-gateway-api-crds").inputs["file"]
    assert source == versions.GATEWAY_API_BUNDLE_URL.format(version=versions.GATEWAY_API)


def _crd(version: str) -> str:
    annotation = f"gateway.networking.k8s.io/bundle-version: {version}"
    return f"kind: CustomResourceDefinition\nmetadata:\n  annotations:\n    {annotation}\n"


def _bundle(directory: Path, version: str) -> Path:
    path = directory / f"gateway-api-{versions.GATEWAY_API}-experimental-install.yaml"
    path.write_text(_crd(version))
    return path


def test_bundle_from_upstream_crd_directory(tmp_path: Path) -> None:
    # The layout of gateway-api's config/crd/experimental: per-CRD files and a kustomization listing them.
    directory = tmp_path / versions.GATEWAY_API / "experimental"
    directory.mkdir(parents=True)
    for name in ("gateways.yaml", "httproutes.yaml", "unlisted.yaml"):
        (directory / name).write_text(_crd(versions.GATEWAY_API))
    (directory / "kustomization.yaml").write_text("resources:\n- gateways.yaml\n- httproutes.yaml\n")
    plan = mesh_plan(tmp_path, {"istio.gatewayApiBundle": str(tmp_path / "{version}" / "experimental")})
    crds = resource_named(plan, "mesh-gateway-api-crds")
    assert crds.type == "kubernetes:yaml/v2:ConfigGroup"
    assert crds.inputs["files"] == [str(directory / "gateways.yaml"), str(directory / "httproutes.yaml")]
    assert plan.depends_on(resource_named(plan, "mesh-istiod").urn, crds.urn)


def test_bundle_from_local_directory_or_mirror(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, versions.GATEWAY_API)
    plan = mesh_plan(tmp_path, {"istio.gatewayApiBundle": str(tmp_path)})
    assert resource_named(plan, "mesh-gateway-api-crds").inputs["file"] == str(bundle)
    plan = mesh_plan(tmp_path, {"charts.source": "mirror", "charts.mirror": str(fake_mirror(tmp_path))})
    assert resource_named(plan, "mesh-gateway-api-crds").inputs["file"] == str(bundle)


def test_bundle_of_another_version_is_a_config_error(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, "v1.2.0")
    with pytest.raises(config.ConfigError, match=r"holds Gateway API CRDs \['v1.2.0'\]"):
        mesh_plan(tmp_path, {"istio.gatewayApiBundle": str(bundle)})


def test_unsupported_istio_gateway_api_pair(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError, match=r"versions\.istio=1\.30\.3 and .*versions\.gatewayApi=v1\.2\.0"):
        mesh_plan(tmp_path, {"versions.gatewayApi": "v1.2.0"})


def test_program_points_mesh_tracing_at_the_collector(dev_plan: Plan) -> None:
    from components import tracing_pipeline

    collector = tracing_pipeline.endpoints(config.StackConfig().namespaces.tracing).otlp_grpc
    provider = resource_named(dev_plan, "mesh-istiod").inputs["values"]["meshConfig"]["extensionProviders"][0]
    assert provider["opentelemetry"] == {"service": collector.host, "port": collector.port}


def test_istio_crds_do_not_outlive_destroy(tmp_path: Path) -> None:
    base = resource_named(mesh_plan(tmp_path), "mesh-base")
    assert base.options["transforms"] == ["components.charts.crds_follow_the_stack"]

    def transformed(type_: str) -> pulumi.ResourceTransformResult | None:
        kept = pulumi.ResourceOptions(retain_on_delete=True)  # what helm.v4.Chart makes of resource-policy keep
        args = pulumi.ResourceTransformArgs(custom=True, type_=type_, name="x", props={"a": 1}, opts=kept)
        return charts.crds_follow_the_stack(args)

    result = transformed("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition")
    assert result is not None and result.opts.retain_on_delete is False and result.props == {"a": 1}
    assert transformed("kubernetes:core/v1:ConfigMap") is None, "only CRDs change"
