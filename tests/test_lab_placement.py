"""The placement rules the lab applies to the cluster's pods and nodes, on hand-made API objects."""

from __future__ import annotations

from typing import Any

import pytest

from lab.placement import cluster_checks, placement_problems, spread_problems, tolerates, tolerations_in

TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
LABEL = ("nvidia.com/gpu.present", "true")


def node(name: str, gpu: bool = False) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {LABEL[0]: LABEL[1]} if gpu else {}}, "spec": {}}


def pod(
    name: str,
    node_name: str | None,
    *,
    namespace: str = "llm",
    gpus: int = 0,
    tolerations: list[dict[str, Any]] | None = None,
    daemonset: bool = False,
    app: str | None = None,
) -> dict[str, Any]:
    limits = {"nvidia.com/gpu": str(gpus)} if gpus else {}
    return {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app": app or name},
            "ownerReferences": [{"kind": "DaemonSet" if daemonset else "ReplicaSet"}],
        },
        "spec": {
            "nodeName": node_name,
            "tolerations": tolerations or [],
            "containers": [{"name": "c", "resources": {"limits": limits}}],
        },
    }


NODES = [node("cpu-0"), node("cpu-1"), node("gpu-0", gpu=True), node("gpu-1", gpu=True)]
POOL = [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}]


@pytest.mark.parametrize(
    ("toleration", "expected"),
    [
        ({"key": "nvidia.com/gpu", "operator": "Exists"}, True),
        ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}, True),
        ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"}, False),
        ({"key": "nvidia.com/gpu", "operator": "Equal", "value": "present"}, True),
        ({"key": "nvidia.com/gpu", "value": "absent"}, False),
        ({"operator": "Exists"}, True),
        ({"operator": "Exists", "effect": "NoSchedule"}, True),
        ({"key": "CriticalAddonsOnly", "operator": "Exists"}, False),
    ],
)
def test_tolerates_follows_kubernetes(toleration: dict[str, Any], expected: bool) -> None:
    assert tolerates(toleration, TAINT) is expected


def test_tolerations_are_found_anywhere_in_values() -> None:
    values = {"controller": {"tolerations": POOL}, "a": [{"b": {"tolerations": [{"operator": "Exists"}]}}]}
    assert list(tolerations_in(values)) == [*POOL, {"operator": "Exists"}]


def test_a_well_placed_cluster_has_no_problems() -> None:
    pods = [
        pod("vllm-a", "gpu-0", gpus=1, tolerations=POOL),
        pod("dcgm-exporter-x", "gpu-1", namespace="nvidia-gpu", tolerations=POOL, daemonset=True),
        pod("alloy-y", "gpu-1", namespace="logging", tolerations=POOL, daemonset=True),
        pod("litellm-a", "cpu-0"),
    ]
    assert placement_problems(pods, NODES, label=LABEL, taint=TAINT, gpu_namespace="nvidia-gpu") == []


def test_misplacements_are_each_named() -> None:
    pods = [
        pod("vllm-a", "cpu-0", gpus=1),
        pod("vllm-b", None, gpus=1),
        pod("litellm-a", "gpu-0"),
        pod("grafana-a", "cpu-1", namespace="monitoring", tolerations=POOL),
    ]
    problems = placement_problems(pods, NODES, label=LABEL, taint=TAINT, gpu_namespace="nvidia-gpu")
    assert problems == [
        "llm/vllm-a is a GPU workload on cpu-0, not on the GPU pool",
        "llm/vllm-b is a GPU workload on no node, not on the GPU pool",
        "llm/litellm-a is not a GPU workload but runs on GPU node gpu-0",
        f"monitoring/grafana-a tolerates the GPU pool's taint {TAINT} but is not a GPU workload",
    ]


def test_spread_needs_two_nodes_for_two_pods() -> None:
    together = [pod("litellm-a", "cpu-0", app="litellm"), pod("litellm-b", "cpu-0", app="litellm")]
    apart = [pod("litellm-a", "cpu-0", app="litellm"), pod("litellm-b", "cpu-1", app="litellm")]
    assert spread_problems(together, NODES, ["litellm"]) == ["litellm: 2 pods all on ['cpu-0'], not spread"]
    assert spread_problems(apart, NODES, ["litellm"]) == []
    assert spread_problems(together, [node("cpu-0")], ["litellm"]) == []
    # GPU nodes carry the taint: with one CPU node, two pods on it are all the cluster allows.
    tainted = [{**node(f"gpu-{i}", gpu=True), "spec": {"taints": [TAINT]}} for i in range(2)]
    assert spread_problems(together, [node("cpu-0"), *tainted], ["litellm"]) == []
    assert spread_problems(together[:1], NODES, ["litellm"]) == []


def _get(objects: dict[str, list[dict[str, Any]]]) -> Any:
    return lambda kind: {"items": objects[kind]}


def _pdb(namespace: str, match: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"name": "x", "namespace": namespace}, "spec": {"selector": {"matchLabels": match}}}


BUDGETS = (("llm", "vllm"), ("litellm", "litellm"), ("tracing", "otel-collector"))


def test_cluster_checks_pass_on_a_well_placed_cluster_and_fail_closed() -> None:
    pods = [
        pod("vllm-a", "gpu-0", gpus=1, tolerations=POOL, app="vllm"),
        pod("litellm-a", "cpu-0", namespace="litellm", app="litellm"),
        pod("litellm-b", "cpu-1", namespace="litellm", app="litellm"),
        pod("otel-collector-0", "cpu-0", namespace="tracing", app="otel-collector"),
    ]
    objects = {
        "pods": pods,
        "nodes": NODES,
        "pdb": [_pdb(ns, {"app": a}) for ns, a in BUDGETS],
        "scaledobjects.keda.sh": [{"metadata": {"name": "vllm"}}],
        "hpa": [{"metadata": {"name": "litellm"}}, {"metadata": {"name": "keda-hpa-vllm"}}],
    }
    results = cluster_checks(_get(objects), label=LABEL, taint=TAINT, gpu_namespace="nvidia-gpu")
    assert [(r["name"], r["ok"]) for r in results] == [
        ("gpu-pool-placement", True), ("replicas-spread", True), ("pdbs-present", True), ("autoscalers-accepted", True),
    ]  # fmt: skip
    objects["pdb"] = [objects["pdb"][0], _pdb("tracing", {"app": "litellm"})]  # wrong namespace: not covered
    failed = {r["name"]: r for r in cluster_checks(_get(objects), label=LABEL, taint=TAINT, gpu_namespace="g")}
    assert not failed["pdbs-present"]["ok"] and "litellm" in failed["pdbs-present"]["message"]
    def unreadable_get(kind: str) -> dict[str, Any]:
        raise RuntimeError(f"kubectl get {kind}: connection refused")

    unreadable = cluster_checks(unreadable_get, label=LABEL, taint=TAINT, gpu_namespace="g")
    assert [r["ok"] for r in unreadable] == [False]
