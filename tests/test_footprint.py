"""Sizes: every workload sized, and each stack's requests fit its node next to k3s."""

from __future__ import annotations

from offline.footprint import K3S_RESERVED_GIB, NODE_BUDGET_GIB, footprint
from offline.plan import Plan
from offline.preview import top_component
from offline.runner import run_program


def test_stack_requests_fit_the_node(any_plan: Plan) -> None:
    fp = footprint(any_plan, top_component)
    budget = NODE_BUDGET_GIB[any_plan.stack] - K3S_RESERVED_GIB
    assert fp.total.memory_requests / 2**30 <= budget, f"{any_plan.stack}: {fp.total.memory_requests / 2**30:.2f} GiB"
    assert fp.charts_without_resources == ["mesh-base"], "only istio base (no workloads) may go unsized"


def test_a_bigger_engine_request_is_seen() -> None:
    plan = run_program("gpu", {"vllm.resources": '{"requests": {"cpu": "2", "memory": "9Gi"}, '
                                                  '"limits": {"cpu": "4", "memory": "12Gi"}}'})
    fp = footprint(plan, top_component)
    assert fp.by_component["vllm"].memory_requests >= 9 * 2**30
    assert fp.total.memory_requests / 2**30 > NODE_BUDGET_GIB["gpu"] - K3S_RESERVED_GIB


def test_every_raw_container_has_requests_and_limits(any_plan: Plan) -> None:
    for resource in any_plan.resources:
        if resource.is_kubernetes_object and resource.kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            template = resource.inputs["spec"]["template"]["spec"]
            for container in template.get("containers", []) + template.get("initContainers", []):
                res = container.get("resources") or {}
                assert {"cpu", "memory"} <= set(res.get("requests", {})), (resource.name, container["name"])
                assert {"cpu", "memory"} <= set(res.get("limits", {})), (resource.name, container["name"])
