"""IstioMesh alone: namespaces from its inputs, install order, mesh-wide mTLS, tracing through the collector."""

from __future__ import annotations

from offline.plan import Plan
from tests.components.conftest import Build, named, of_kind

SOURCE = """
import versions
from components.contracts import ServiceRef
from components.istio_mesh import IstioMesh, IstioMeshArgs
from config.sections import Charts, Istio, Namespaces

IstioMesh("mesh", IstioMeshArgs(
    settings=Istio(inject_namespaces=["tracing"], tracing_sampling_percent=5),
    namespaces=Namespaces(istio="mesh-system", tracing="traces", llm="models"),
    istio_version=versions.ISTIO, gateway_api_bundle=["https://example.invalid/gateway-api.yaml"],
    charts=Charts(), retain_data_namespaces={retain},
    collector=ServiceRef("collector", "traces", 4317, "grpc"),
))
"""


def mesh(build: Build, retain: bool = True) -> Plan:
    return build(SOURCE.format(retain=retain))


def test_namespaces_carry_the_given_names_and_injection(build: Build) -> None:
    plan = mesh(build)
    labels = {r.k8s_name: r.metadata["labels"] for r in of_kind(plan, "Namespace")}
    assert {"mesh-system", "traces", "models", "nvidia-gpu"} <= set(labels)
    assert labels["traces"]["istio-injection"] == "enabled"
    assert labels["models"]["istio-injection"] == "disabled"  # not in inject_namespaces
    assert labels["nvidia-gpu"]["istio-injection"] == "disabled"


def test_data_namespaces_follow_the_retain_flag(build: Build) -> None:
    kept = {r.k8s_name for r in of_kind(mesh(build), "Namespace") if r.options.get("retainOnDelete")}
    assert kept == {"traces", "models", "monitoring", "langfuse", "logging"}
    assert not [r for r in of_kind(mesh(build, retain=False), "Namespace") if r.options.get("retainOnDelete")]


def test_crds_then_base_then_istiod(build: Build) -> None:
    plan = mesh(build)
    crds, base, istiod = (named(plan, n) for n in ("mesh-gateway-api-crds", "mesh-base", "mesh-istiod"))
    assert crds.inputs["file"] == "https://example.invalid/gateway-api.yaml"
    assert plan.depends_on(base.urn, crds.urn) and plan.depends_on(istiod.urn, base.urn)
    assert not plan.depends_on(crds.urn, istiod.urn)


def test_mesh_wide_mtls_and_tracing_to_the_collector(build: Build) -> None:
    plan = mesh(build)
    modes = {r.namespace: r.inputs["spec"]["mtls"]["mode"] for r in of_kind(plan, "PeerAuthentication")}
    assert modes == {"mesh-system": "PERMISSIVE"}, "namespaces get theirs from MeshMtls (the edge list)"
    (telemetry,) = of_kind(plan, "Telemetry")
    assert telemetry.inputs["spec"]["tracing"][0]["randomSamplingPercentage"] == 5
    values = named(plan, "mesh-istiod").inputs["values"]
    (provider,) = values["meshConfig"]["extensionProviders"]
    assert provider["opentelemetry"] == {"service": "collector.traces.svc.cluster.local", "port": 4317}
    assert values["global"]["istioNamespace"] == "mesh-system"
