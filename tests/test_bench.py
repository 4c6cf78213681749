"""The benchmark arithmetic on tiny hand-made plans (no timing here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.critical_path import chart_name, critical_path
from bench.gpu_budget import GIB, budget
from bench.plan_speed import ROOT
from bench.scaling import PROGRAM, slope
from offline.footprint import footprint, quantity
from offline.plan import Plan, Resource
from offline.runner import run_program

TABLE: dict[str, Any] = {
    "rows": [
        {"match": {"chart": "istiod"}, "seconds": 40},
        {"match": {"kind": "Deployment", "name": "vllm"}, "seconds": 200},
        {"match": {"type": "kubernetes:yaml/v2:ConfigFile"}, "seconds": 5},
        {"match": {}, "seconds": 1},
    ],
    "runbook_phases": [
        {"phase": "crds", "match": {"type": "kubernetes:yaml/v2:ConfigFile"}},
        {"phase": "istiod", "match": {"chart": "istiod"}},
        {"phase": "vllm", "match": {"kind": "Deployment", "name": "vllm"}},
    ],
}


def res(
    name: str, typ: str, deps: list[str], inputs: dict[str, Any] | None = None, parent: str | None = None
) -> dict[str, Any]:
    return {"urn": name, "name": name, "type": typ, "dependencies": deps, "inputs": inputs or {}, "parent": parent}


def test_critical_path_follows_the_longest_weighted_chain() -> None:
    plan: dict[str, Any] = {
        "resources": [
            res("crds", "kubernetes:yaml/v2:ConfigFile", []),
            res("istiod", "kubernetes:helm.sh/v4:Chart", ["crds"], {"chart": "/m/istiod-1.30.3.tgz"}),
            res("ns", "kubernetes:core/v1:Namespace", []),
            res("vllm", "kubernetes:apps/v1:Deployment", ["ns", "mesh"], {"kind": "Deployment"}),
            res("mesh", "llm-tracing-infra:mesh:IstioMesh", []),
            res("istiod-child", "x:y:Z", [], parent="mesh"),
        ],
        "waves": [["crds", "ns"], ["istiod"], ["vllm"]],
    }
    # the dependency on the component "mesh" expands to its deployable descendants (none here but a
    # non-deployable child), so vllm waits for ns only
    cp = critical_path(plan, TABLE)
    assert [name for name, _ in cp.chain] == ["ns [Namespace]", "vllm [Deployment]"]
    assert cp.seconds == 201
    assert cp.sequential_seconds == 245
    plan["resources"][3]["dependencies"].append("istiod")
    cp = critical_path(plan, TABLE)
    assert [name.split()[0] for name, _ in cp.chain] == ["crds", "istiod", "vllm"]
    assert cp.seconds == 245 and cp.ratio == 1.0


def test_excluded_work_counts_zero_unless_asked() -> None:
    plan: dict[str, Any] = {
        "resources": [
            res("crds", "kubernetes:yaml/v2:ConfigFile", []),
            res("verification-checks", "command:local:Command", ["crds"], {}),
        ],
        "waves": [["crds"], ["verification-checks"]],
    }
    rows: list[Any] = [{"match": {"kind": "Command"}, "seconds": 60}, *TABLE["rows"]]
    table = {
        **TABLE,
        "rows": rows,
        "excluded": [{"match": {"kind": "Command", "name": "verification"}}],
    }
    assert critical_path(plan, table).seconds == 5
    assert critical_path(plan, table, with_excluded=True).seconds == 65


def test_scaling_slope_is_least_squares() -> None:
    assert slope([100, 200, 300], [1.0, 2.0, 3.0]) == pytest.approx(0.01)
    assert slope([100, 200, 300], [1.0, 2.5, 3.0]) == pytest.approx(0.01)
    assert slope([5, 5], [1.0, 2.0]) == 0.0, "no spread in resources: no slope"


def test_scaling_program_adds_one_server_per_extra_model(tmp_path: Path, gpu_plan: Plan) -> None:
    program = tmp_path / "models.py"
    program.write_text(PROGRAM.format(main=str(ROOT / "__main__.py"), models=3))
    plan = run_program("gpu", program=program)
    servers = [r for r in plan.resources if r.type.endswith(":VllmServer")]
    assert len(servers) == 3
    deployments = sorted(str(r.namespace) for r in plan.resources if r.kind == "Deployment" and "vllm" in r.name)
    assert deployments == ["llm", "llm-1", "llm-2"]
    per_model = (len(plan.resources) - len(gpu_plan.resources)) / 2
    assert per_model == len([r for r in gpu_plan.resources if r.parent == servers[0].urn or r.urn == servers[0].urn])


@pytest.mark.parametrize(
    ("chart", "name"),
    [
        ("/x/cert-manager-v1.21.1.tgz", "cert-manager"),
        ("kube-prometheus-stack", "kube-prometheus-stack"),
        ("oci://ghcr.io/clickhouse/clickhouse-operator-helm", "clickhouse-operator-helm"),
    ],
)
def test_chart_names(chart: str, name: str) -> None:
    assert chart_name({"inputs": {"chart": chart}}) == name


def test_gpu_budget_arithmetic() -> None:
    facts = {
        "m": {"parameters": 1_000_000_000, "layers": 10, "kv_heads": 2, "head_dim": 64, "bytes_per_param": 2},
        "overhead_gib": 1.0,
    }
    b = budget("m", 0.5, 1000, 8, facts)
    assert b.weights_gib == pytest.approx(2e9 / GIB)
    assert b.kv_bytes_per_token == 2 * 10 * 2 * 64 * 2
    assert b.kv_cache_gib == pytest.approx(4 - 2e9 / GIB - 1)
    assert b.kv_tokens == int(b.kv_cache_gib * GIB // b.kv_bytes_per_token)
    assert budget("m", 0.2, 1000, 8, facts).fits is False


def test_footprint_counts_containers_replicas_and_chart_values() -> None:
    container = {
        "name": "c",
        "resources": {"requests": {"cpu": "250m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
    }
    plan = Plan(
        "t",
        [
            Resource(
                "d",
                "kubernetes:apps/v1:Deployment",
                "d",
                None,
                True,
                False,
                [],
                {"kind": "Deployment", "spec": {"replicas": 2, "template": {"spec": {"containers": [container]}}}},
            ),
            Resource(
                "c",
                "kubernetes:helm.sh/v4:Chart",
                "c",
                None,
                False,
                True,
                [],
                {"values": {"a": {"resources": {"requests": {"cpu": "1", "memory": "1Gi"}}, "replicas": 3}}},
            ),
            Resource("e", "kubernetes:helm.sh/v4:Chart", "e", None, False, True, [], {"values": {}}),
        ],
    )
    fp = footprint(plan, lambda p, r: r.name)
    assert fp.by_component["d"].cpu_requests == 0.5
    assert fp.by_component["d"].memory_limits == 2 * 2**30
    assert fp.by_component["c"].memory_requests == 3 * 2**30
    assert fp.by_component["c"].memory_limits == 3 * 2**30  # no limit given: counted at the request
    assert fp.charts_without_resources == ["e"]
    assert fp.total.containers == 5


@pytest.mark.parametrize(("text", "value"), [("500m", 0.5), ("2", 2.0), ("1Gi", 2**30), ("1G", 1e9)])
def test_quantities(text: str, value: float) -> None:
    assert quantity(text) == value


def test_bad_quantity_is_an_error() -> None:
    with pytest.raises(ValueError, match="50Gb"):
        quantity("50Gb")
