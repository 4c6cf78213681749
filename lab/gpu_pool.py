"""The GPU pool on the lab's cluster: labels and taint from the stack's own configuration, put on and taken off.

The simulated cluster's GPU nodes (kwok nodes with ``nvidia.com/gpu`` capacity) carry only what
``up.sh`` gives them. Before a stack with a dedicated GPU pool (``gpu.nodePool.dedicated``) the lab
puts the pool's label and taint on them, and every other label its GPU workloads select
(``gpu.nodeLabel``; ``karpenter.sh/nodepool`` with Karpenter on, as Karpenter labels the nodes it
launches). Every name comes from the stack's configuration as ``pulumi config --json`` prints it,
read through the program's own config model and helpers. After the stack the lab puts each node
back as it found it, so a stack after it (dev, gpu) sees untainted nodes. On a cluster of
``KUBECONFIG`` nothing is edited: its GPU nodes must already be labelled and tainted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import config
from components.dcgm import gpu_nodes
from components.karpenter import ENGINE_SELECTOR
from lab.placement import GPU_RESOURCE, GpuPool, pool_node_problems

Kubectl = Callable[..., Any]
"""``kubectl(*args)`` -> a ``subprocess.CompletedProcess[str]``."""


def stack_config(config_json: dict[str, Any]) -> config.StackConfig:
    """The program's view of ``pulumi config --json`` (secrets left out: the pool needs none of them)."""
    plain = {}
    for key, entry in config_json.items():
        project, _, name = key.partition(":")
        if project != config.PROJECT or entry.get("secret") or name in config.SECRET_KEYS:
            continue
        plain[name] = entry["objectValue"] if "objectValue" in entry else config._decode(entry.get("value"))
    return config.StackConfig.model_validate(plain)


def pool_of(cfg: config.StackConfig) -> GpuPool | None:
    """The dedicated GPU pool of a stack, or None (dev, gpu: GPU workloads run where the node allows)."""
    pool = cfg.gpu.node_pool
    if not (cfg.gpu.enabled and pool.dedicated):
        return None
    labels = dict(gpu_nodes(cfg.gpu))
    if cfg.gpu.node_label:
        labels.setdefault(cfg.gpu.node_label, "true")  # the GPU daemons' node affinity
    if cfg.cloud.karpenter.enabled:
        labels.update(ENGINE_SELECTOR)  # the engines select the NodePool; Karpenter labels its nodes so
    return GpuPool(
        label=(pool.label_key, pool.label_value),
        taint={"key": pool.taint_key, "value": pool.taint_value, "effect": pool.taint_effect},
        gpu_namespace=cfg.namespaces.gpu,
        node_labels=labels,
    )


@dataclass(frozen=True)
class Edit:
    """One ``kubectl`` change to a node, and the one that undoes it."""

    apply: tuple[str, ...]
    undo: tuple[str, ...]


def has_gpus(node: dict[str, Any]) -> bool:
    allocatable = (node.get("status") or {}).get("allocatable") or {}
    return str(allocatable.get(GPU_RESOURCE, "0")) not in ("0", "")


def node_edits(nodes: list[dict[str, Any]], pool: GpuPool) -> list[Edit]:
    """The labels and taint the pool needs on each node with GPUs, each with its undo; nothing already there."""
    edits = []
    taint = pool.taint
    for node in sorted((n for n in nodes if has_gpus(n)), key=lambda n: n["metadata"]["name"]):
        name = node["metadata"]["name"]
        labels = node["metadata"].get("labels") or {}
        for key, value in sorted(pool.node_labels.items()):
            if labels.get(key) == value:
                continue
            undo = f"{key}={labels[key]}" if key in labels else f"{key}-"
            edits.append(
                Edit(
                    ("label", "node", name, f"{key}={value}", "--overwrite"),
                    ("label", "node", name, undo, "--overwrite"),
                )
            )
        taints = node.get("spec", {}).get("taints") or []
        if not any(t.get("key") == taint["key"] and t.get("effect") == taint["effect"] for t in taints):
            spelled = f"{taint['key']}={taint['value']}:{taint['effect']}"
            edits.append(
                Edit(("taint", "node", name, spelled), ("taint", "node", name, f"{taint['key']}:{taint['effect']}-"))
            )
    return edits


def _nodes(kubectl: Kubectl) -> list[dict[str, Any]]:
    done = kubectl("get", "nodes", "-o", "json")
    if done.returncode != 0:
        raise RuntimeError(f"`kubectl get nodes` exited {done.returncode}: {done.stderr.strip()[-300:]}")
    return list(json.loads(done.stdout).get("items") or [])


def _check(name: str, ok: bool, message: str) -> dict[str, Any]:
    return {"name": name, "ok": ok, "message": message}


def prepare(kubectl: Kubectl, pool: GpuPool, *, edit: bool) -> tuple[dict[str, Any], list[Edit]]:
    """Label and taint the GPU nodes (``edit``: the lab's own cluster), then read them back.

    Returns the check ``gpu-pool-nodes`` and the edits made (to undo after the stack).
    """
    done: list[Edit] = []
    try:
        if edit:
            for change in node_edits(_nodes(kubectl), pool):
                result = kubectl(*change.apply)
                if result.returncode != 0:
                    raise RuntimeError(f"`kubectl {' '.join(change.apply)}`: {result.stderr.strip()[-300:]}")
                done.append(change)
        nodes = _nodes(kubectl)
    except RuntimeError as exc:
        return _check("gpu-pool-nodes", False, str(exc)), done
    problems = pool_node_problems(nodes, pool)
    carrying = sorted(n["metadata"]["name"] for n in nodes if has_gpus(n))
    how = f"{len(done)} kubectl label/taint edit(s)" if edit else "the cluster's own (KUBECONFIG: not edited)"
    message = "; ".join(problems) or (
        f"GPU nodes {carrying} carry {pool.node_labels} and taint {pool.taint} ({how}); {len(nodes)} nodes in all"
    )
    return _check("gpu-pool-nodes", not problems, message), done


def restore(kubectl: Kubectl, edits: list[Edit]) -> dict[str, Any]:
    """Undo the edits in reverse order: the nodes as ``up.sh`` made them, for the stacks after this one."""
    failed = []
    for change in reversed(edits):
        result = kubectl(*change.undo)
        if result.returncode != 0:
            failed.append(f"`kubectl {' '.join(change.undo)}`: {result.stderr.strip()[-200:]}")
    message = "; ".join(failed) or f"{len(edits)} label/taint edit(s) undone"
    return _check("gpu-pool-nodes-restored", not failed, message)
