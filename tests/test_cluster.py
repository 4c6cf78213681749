"""The ``cluster`` stack: GPU node pool, placement, PDBs and spread, on the captured offline plan."""

from __future__ import annotations

from typing import Any

import pytest

from lab.placement import tolerates, tolerations_in
from offline.plan import Plan, Resource
from offline.runner import run_program
from tests.conftest import pod_spec, resource_named, stack_cfg
from tests.support import stack_plan

GPU_COMPONENTS = ("llm-tracing-infra:dcgm:Dcgm", "llm-tracing-infra:vllm_server:VllmServer",
                  "llm-tracing-infra:sglang_server:SglangServer")  # fmt: skip
NODE_AGENTS = ("logging-alloy",)
"""DaemonSets that must run on GPU nodes too (Alloy reads the engines' logs there); named, never implied."""


@pytest.fixture(scope="module")
def cluster_plan() -> Plan:
    return stack_plan("cluster")


def _taint() -> dict[str, str]:
    pool = stack_cfg("cluster").gpu.node_pool
    return {"key": pool.taint_key, "value": pool.taint_value, "effect": pool.taint_effect}


def _component_type(plan: Plan, resource: Resource) -> str | None:
    index = plan.by_urn()
    for urn in plan.ancestors(resource.urn):
        if index[urn].type.startswith("llm-tracing-infra:"):
            return index[urn].type
    return None


def tolerators(plan: Plan, taint: dict[str, str]) -> set[str]:
    """Names of the workloads and charts whose pods tolerate ``taint``."""
    found = set()
    charts = {c.urn for c in plan.charts()}
    for resource in plan.resources:
        tree: Any = resource.inputs.get("values") if resource.urn in charts else resource.inputs.get("spec")
        if any(tolerates(t, taint) for t in tolerations_in(tree or {})):
            found.add(resource.name)
    return found


def test_only_gpu_workloads_and_named_node_agents_tolerate_the_gpu_taint(cluster_plan: Plan) -> None:
    taint = _taint()
    index = {r.name: r for r in cluster_plan.resources}
    tolerating = tolerators(cluster_plan, taint)
    others = {n for n in tolerating if _component_type(cluster_plan, index[n]) not in GPU_COMPONENTS}
    assert others == set(NODE_AGENTS)
    assert {"vllm-deployment", "gpu-dcgm-exporter", "gpu-device-plugin"} <= tolerating


def test_a_workload_tolerating_the_taint_is_caught(cluster_plan: Plan) -> None:
    """The rule above can fail: a LiteLLM pod spec with the pool's toleration is found."""
    litellm = resource_named(cluster_plan, "litellm-deployment")
    spec = pod_spec(litellm)
    spec["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists"}]
    changed = Resource(**{**litellm.__dict__, "inputs": {"spec": {"template": {"spec": spec}}}})
    plan = Plan("cluster", [changed if r is litellm else r for r in cluster_plan.resources])
    assert "litellm-deployment" in tolerators(plan, _taint())


def test_gpu_workloads_select_and_tolerate_the_pool(cluster_plan: Plan) -> None:
    pool = stack_cfg("cluster").gpu.node_pool
    label = {pool.label_key: pool.label_value}
    vllm = pod_spec(resource_named(cluster_plan, "vllm-deployment"))
    assert label.items() <= vllm["nodeSelector"].items()
    exporter = resource_named(cluster_plan, "gpu-dcgm-exporter").inputs["values"]
    plugin = resource_named(cluster_plan, "gpu-device-plugin").inputs["values"]
    for daemon in (exporter, plugin):  # both GPU daemons: the pool's label, as a required node affinity
        (term,) = daemon["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
            "nodeSelectorTerms"
        ]
        assert term["matchExpressions"] == [{"key": pool.label_key, "operator": "In", "values": [pool.label_value]}]
    for tolerations in (vllm["tolerations"], exporter["tolerations"], plugin["tolerations"]):
        assert any(tolerates(t, _taint()) for t in tolerations)


def test_pool_names_come_from_config() -> None:
    plan = run_program(
        "cluster", {"gpu.nodePool.labelKey": "pool.example.com/gpu", "gpu.nodePool.taintKey": "pool.example.com/gpu"}
    )
    vllm = pod_spec(resource_named(plan, "vllm-deployment"))
    assert vllm["nodeSelector"] == {"pool.example.com/gpu": "true"}
    assert {"key": "pool.example.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"} in vllm[
        "tolerations"
    ]


def test_replicated_workloads_have_a_pdb_and_spread(cluster_plan: Plan) -> None:
    pdbs = {r.name for r in cluster_plan.k8s("PodDisruptionBudget")}
    assert {"litellm-pdb", "vllm-pdb"} <= pdbs
    for name in ("litellm-deployment", "vllm-deployment"):
        (constraint,) = pod_spec(resource_named(cluster_plan, name))["topologySpreadConstraints"]
        assert constraint["topologyKey"] == "kubernetes.io/hostname"
    collector = resource_named(cluster_plan, "tracing-collector").inputs["values"]
    assert collector["podDisruptionBudget"] == {"enabled": True, "maxUnavailable": 1}
    assert collector["topologySpreadConstraints"][0]["labelSelector"] == {"matchLabels": {"app": "otel-collector"}}


def test_a_replicated_mock_engine_gets_a_pdb_and_spread() -> None:
    plan = run_program("dev", {"mockEngine.replicas": "2", "placement.spread": "true"})
    assert "mock-engine-pdb" in {r.name for r in plan.k8s("PodDisruptionBudget")}
    assert pod_spec(resource_named(plan, "mock-engine-deployment"))["topologySpreadConstraints"]


@pytest.mark.parametrize("stack", ["dev", "gpu"])
def test_single_machine_stacks_stay_as_they_were(stack: str) -> None:
    plan = stack_plan(stack)
    kinds = {r.kind for r in plan.resources}
    assert not kinds & {"ScaledObject", "HorizontalPodAutoscaler", "NodePool", "EC2NodeClass"}
    for deployment in plan.k8s("Deployment"):
        assert "replicas" in deployment.inputs["spec"]
        assert "topologySpreadConstraints" not in pod_spec(deployment)


def test_footprint_counts_autoscaled_workloads_at_their_minimum_and_splits_pools(cluster_plan: Plan) -> None:
    from offline.footprint import by_node_pool, footprint, scaled_floors
    from offline.preview import top_component

    floors = scaled_floors(cluster_plan)
    assert floors[("litellm", "litellm")] == 2 and floors[("llm", "vllm")] == 1
    fp = footprint(cluster_plan, top_component)
    assert fp.by_component["litellm"].containers == 2
    pools = by_node_pool(fp, {"gpu", "vllm", "sglang"})
    on_gpu = fp.by_component["gpu"].memory_requests + fp.by_component["vllm"].memory_requests
    assert pools["gpu"].memory_requests == on_gpu
    assert pools["gpu"].memory_requests + pools["cpu"].memory_requests == fp.total.memory_requests
