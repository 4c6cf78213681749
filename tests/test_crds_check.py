"""The CRD-order check: a custom resource before its CRD cannot pass the offline preview."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.mistakes import CR_WITHOUT_CRD
from offline.checks import crds
from offline.plan import Plan, Resource
from offline.runner import ROOT, run_program


def resource(type_: str) -> Resource:
    return Resource(
        urn=f"urn:{type_}", type=type_, name="x", parent=None, custom=True, remote=False, dependencies=[], inputs={}
    )


@pytest.mark.parametrize(
    ("type_", "group"),
    [
        ("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "gateway.networking.k8s.io"),
        ("kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "monitoring.coreos.com"),
        ("kubernetes:telemetry.istio.io/v1:Telemetry", "telemetry.istio.io"),
        ("kubernetes:example.org/v1:Widget", "example.org"),
        ("kubernetes:core/v1:Service", None),
        ("kubernetes:apps/v1:Deployment", None),
        ("kubernetes:networking.k8s.io/v1:Ingress", None),
        ("kubernetes:helm.sh/v4:Chart", None),
        ("kubernetes:yaml/v2:ConfigFile", None),
        ("random:index/randomPassword:RandomPassword", None),
    ],
)
def test_api_group_of_custom_resources_only(type_: str, group: str | None) -> None:
    assert crds.api_group(resource(type_)) == group


def test_the_platform_orders_every_custom_resource_after_its_crds(gpu_plan: Plan) -> None:
    groups = {crds.api_group(r) for r in gpu_plan.resources} - {None}
    assert {"gateway.networking.k8s.io", "monitoring.coreos.com", "telemetry.istio.io", "security.istio.io"} <= groups
    assert crds.check_custom_resources_after_crds(gpu_plan) == []


def test_a_custom_resource_without_its_crd_first_is_a_mandatory_finding(tmp_path: Path) -> None:
    program = tmp_path / "program.py"
    program.write_text((ROOT / "__main__.py").read_text() + CR_WITHOUT_CRD)
    findings = crds.check_custom_resources_after_crds(run_program("dev", program=program))
    assert [(f.level, f.urn.rsplit("::", 1)[-1]) for f in findings if f.urn] == [("mandatory", "lab-orphan-route")]
    assert "no matches for kind" in findings[0].message
