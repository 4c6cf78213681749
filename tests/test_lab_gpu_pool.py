"""The lab's GPU pool: names read from the stack's configuration, node edits and their undo, on a fake kubectl."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from lab import gpu_pool
from lab.placement import GpuPool
from lab.runner import lab_settings
from offline.runner import stack_config as offline_stack_config


def cli_json(stack: str, overrides: dict[str, str] | None = None) -> dict[str, Any]:
    """What ``pulumi config --json`` prints for the stack: objects with ``objectValue``, secrets hidden."""
    raw, secret_keys = offline_stack_config(stack, overrides)
    printed: dict[str, Any] = {}
    for key, value in raw.items():
        if key in secret_keys:
            printed[key] = {"secret": True}
        elif value[:1] in "{[":
            printed[key] = {"value": value, "objectValue": json.loads(value), "secret": False}
        else:
            printed[key] = {"value": value, "secret": False}
    return printed


def test_the_cluster_pool_comes_from_the_stack_config_with_the_lab_settings() -> None:
    pool = gpu_pool.pool_of(gpu_pool.stack_config(cli_json("cluster", lab_settings("cluster"))))
    assert pool == GpuPool(
        label=("nvidia.com/gpu.present", "true"),
        taint={"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"},
        gpu_namespace="nvidia-gpu",
        node_labels={"nvidia.com/gpu.present": "true", "karpenter.sh/nodepool": "gpu"},
    )


def test_renamed_label_and_taint_follow_the_config() -> None:
    renamed = {
        "gpu.nodePool.labelKey": "example.com/accelerator",
        "gpu.nodePool.labelValue": "a100",
        "gpu.nodePool.taintKey": "example.com/dedicated",
        "gpu.nodePool.taintEffect": "NoExecute",
        "namespaces.gpu": "accelerators",
    }
    pool = gpu_pool.pool_of(gpu_pool.stack_config(cli_json("cluster", renamed)))
    assert pool is not None
    assert pool.label == ("example.com/accelerator", "a100")
    assert pool.taint == {"key": "example.com/dedicated", "value": "present", "effect": "NoExecute"}
    assert pool.gpu_namespace == "accelerators"
    # the GPU daemons' affinity (gpu.nodeLabel) stays; Karpenter's label only with Karpenter on
    assert pool.node_labels == {"example.com/accelerator": "a100", "nvidia.com/gpu.present": "true"}


@pytest.mark.parametrize("stack", ["dev", "gpu"])
def test_single_machine_stacks_have_no_pool(stack: str) -> None:
    assert gpu_pool.pool_of(gpu_pool.stack_config(cli_json(stack, lab_settings(stack)))) is None


def test_secrets_are_left_out_of_the_config() -> None:
    printed = cli_json("cluster")
    printed["llm-tracing-infra:langfuseCredentialSeed"] = {"secret": True}
    printed["kubernetes:context"] = {"value": "elsewhere", "secret": False}
    assert gpu_pool.stack_config(printed).gpu.node_pool.dedicated


POOL = GpuPool(
    label=("nvidia.com/gpu.present", "true"),
    taint={"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"},
    gpu_namespace="nvidia-gpu",
    node_labels={"nvidia.com/gpu.present": "true", "karpenter.sh/nodepool": "gpu"},
)


def kwok_node(
    name: str, gpus: int, labels: dict[str, str], taints: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    allocatable = {"cpu": "8", **({"nvidia.com/gpu": str(gpus)} if gpus else {})}
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"taints": taints} if taints else {},
        "status": {"allocatable": allocatable},
    }


def test_edits_only_touch_nodes_with_gpus_and_only_what_is_missing() -> None:
    nodes = [
        kwok_node("kwok-cpu-0", 0, {}),
        kwok_node("kwok-gpu-0", 1, {"nvidia.com/gpu.present": "true"}),
        kwok_node("kwok-gpu-1", 1, {"karpenter.sh/nodepool": "cpu"}, [POOL.taint]),
    ]
    edits = gpu_pool.node_edits(nodes, POOL)
    assert [e.apply for e in edits] == [
        ("label", "node", "kwok-gpu-0", "karpenter.sh/nodepool=gpu", "--overwrite"),
        ("taint", "node", "kwok-gpu-0", "nvidia.com/gpu=present:NoSchedule"),
        ("label", "node", "kwok-gpu-1", "karpenter.sh/nodepool=gpu", "--overwrite"),
        ("label", "node", "kwok-gpu-1", "nvidia.com/gpu.present=true", "--overwrite"),
    ]
    assert [e.undo for e in edits] == [
        ("label", "node", "kwok-gpu-0", "karpenter.sh/nodepool-", "--overwrite"),
        ("taint", "node", "kwok-gpu-0", "nvidia.com/gpu:NoSchedule-"),
        ("label", "node", "kwok-gpu-1", "karpenter.sh/nodepool=cpu", "--overwrite"),  # the value it had
        ("label", "node", "kwok-gpu-1", "nvidia.com/gpu.present-", "--overwrite"),
    ]


class FakeNodes:
    """``kubectl get nodes`` / ``label`` / ``taint`` over node objects in memory."""

    def __init__(self, nodes: list[dict[str, Any]], fail: str = "") -> None:
        self.nodes = {n["metadata"]["name"]: n for n in nodes}
        self.calls: list[tuple[str, ...]] = []
        self.fail = fail

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        self.calls.append(args)
        if self.fail and self.fail in args:
            return subprocess.CompletedProcess(args, 1, "", f"error: {self.fail} refused")
        if args[:2] == ("get", "nodes"):
            return subprocess.CompletedProcess(args, 0, json.dumps({"items": list(self.nodes.values())}), "")
        node = self.nodes[args[2]]
        if args[0] == "label":
            key, _, value = args[3].partition("=")
            labels = node["metadata"]["labels"]
            if key.endswith("-") and not value:
                labels.pop(key[:-1])
            else:
                labels[key] = value
        elif args[0] == "taint":
            spec = node["spec"]
            if args[3].endswith("-"):
                key, _, effect = args[3][:-1].partition(":")
                spec["taints"] = [t for t in spec.get("taints", []) if (t["key"], t["effect"]) != (key, effect)]
                if not spec["taints"]:  # the API server leaves an empty list out
                    del spec["taints"]
            else:
                key_value, _, effect = args[3].partition(":")
                key, _, value = key_value.partition("=")
                spec.setdefault("taints", []).append({"key": key, "value": value, "effect": effect})
        return subprocess.CompletedProcess(args, 0, "", "")


def up_sh_nodes() -> list[dict[str, Any]]:
    """Three CPU nodes and two GPU nodes as ``up.sh`` makes them (GPU nodes labelled, nobody tainted)."""
    cpu = [kwok_node(f"kwok-cpu-{i}", 0, {}) for i in range(3)]
    return cpu + [kwok_node(f"kwok-gpu-{i}", 1, {"nvidia.com/gpu.present": "true"}) for i in range(2)]


def test_prepare_then_restore_leaves_the_nodes_as_they_were() -> None:
    cluster = FakeNodes(up_sh_nodes())
    before = json.dumps(cluster.nodes, sort_keys=True)
    prepared, edits = gpu_pool.prepare(cluster, POOL, edit=True)
    assert prepared["ok"], prepared
    assert "['kwok-gpu-0', 'kwok-gpu-1']" in prepared["message"] and "4 kubectl" in prepared["message"]
    assert json.dumps(cluster.nodes, sort_keys=True) != before
    restored = gpu_pool.restore(cluster, edits)
    assert restored == {"name": "gpu-pool-nodes-restored", "ok": True, "message": "4 label/taint edit(s) undone"}
    assert json.dumps(cluster.nodes, sort_keys=True) == before


def test_on_a_cluster_of_kubeconfig_nothing_is_edited_and_an_untainted_pool_fails() -> None:
    cluster = FakeNodes(up_sh_nodes())
    prepared, edits = gpu_pool.prepare(cluster, POOL, edit=False)
    assert edits == [] and all(call[0] == "get" for call in cluster.calls)
    assert not prepared["ok"] and "no node carries" in prepared["message"]


def test_a_refused_edit_fails_the_check_and_what_was_done_is_still_undone() -> None:
    cluster = FakeNodes(up_sh_nodes(), fail="taint")
    prepared, edits = gpu_pool.prepare(cluster, POOL, edit=True)
    assert not prepared["ok"] and "taint refused" in prepared["message"]
    assert [e.apply[0] for e in edits] == ["label"], "the label went on before the refused taint"
    assert gpu_pool.restore(cluster, edits)["ok"]
    assert "karpenter.sh/nodepool" not in cluster.nodes["kwok-gpu-0"]["metadata"]["labels"]


def test_unreadable_nodes_fail_closed() -> None:
    cluster = FakeNodes(up_sh_nodes(), fail="nodes")
    prepared, edits = gpu_pool.prepare(cluster, POOL, edit=True)
    assert not prepared["ok"] and "`kubectl get nodes` exited 1" in prepared["message"] and edits == []
