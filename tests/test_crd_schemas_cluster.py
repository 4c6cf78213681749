"""KEDA's and Karpenter's objects in the plan validate against the CRD schemas of the pinned charts.

Fixtures come from ``python -m tools.chart_crd_schemas``. jsonschema checks types, enums, patterns
and required fields; the CEL rules are the lab's API server's to enforce.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

import versions
from offline.plan import Plan, Resource
from offline.runner import run_program
from tests.test_karpenter import KARPENTER

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "crd_schemas"
CHART_OF = {"ScaledObject": "keda", "NodePool": "karpenter-crd", "EC2NodeClass": "karpenter-crd"}


def schema_errors(resource: Resource) -> list[str]:
    chart = CHART_OF[resource.kind]
    fixture = json.loads((FIXTURES / f"{chart}-{versions.CHARTS[chart].version}" / f"{resource.kind}.json").read_text())
    schema = fixture["versions"][resource.api_version.split("/")[1]]
    return [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(resource.inputs)]


@pytest.fixture(scope="module")
def plan() -> Plan:
    return run_program("cluster", KARPENTER)


def test_scaled_objects_node_pool_and_node_class_match_the_pinned_schemas(plan: Plan) -> None:
    objects = [r for r in plan.resources if r.is_kubernetes_object and r.kind in CHART_OF]
    assert sorted(r.kind for r in objects) == ["EC2NodeClass", "NodePool", "ScaledObject"]
    assert {r.name: schema_errors(r) for r in objects} == {r.name: [] for r in objects}


def test_an_invalid_requirement_operator_is_caught(plan: Plan) -> None:
    (pool,) = [r for r in plan.resources if r.kind == "NodePool"]
    inputs = copy.deepcopy(pool.inputs)
    inputs["spec"]["template"]["spec"]["requirements"][0]["operator"] = "Equals"
    assert any("'Equals' is not one of" in e for e in schema_errors(Resource(**{**pool.__dict__, "inputs": inputs})))
