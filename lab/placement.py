"""Placement on a multi-node cluster: pure functions over API-server JSON (pods, nodes) and plan inputs.

What the ``cluster`` stack promises: every GPU workload runs on a node of the GPU pool, nothing else
does (node agents, DaemonSets such as node-exporter and Alloy, excepted: they observe every node),
only GPU workloads tolerate the pool's taint, and replicated workloads spread over nodes. The lab
applies these to ``kubectl get pods,nodes -o json``; the tests apply ``tolerations_in`` and
``tolerates`` to the offline plan. No I/O here, so every rule has a unit test.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

GPU_RESOURCE = "nvidia.com/gpu"


def tolerates(toleration: dict[str, Any], taint: dict[str, Any]) -> bool:
    """Kubernetes' rule: key (empty key with Exists matches all), operator/value, and effect (empty: all)."""
    effect = toleration.get("effect")
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    operator = toleration.get("operator") or "Equal"
    if not key:
        return operator == "Exists"
    if key != taint.get("key"):
        return False
    return operator == "Exists" or (toleration.get("value") or "") == (taint.get("value") or "")


def tolerations_in(tree: Any) -> Iterator[dict[str, Any]]:
    """Every toleration anywhere in a manifest or chart values (lists under a ``tolerations`` key)."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            if key == "tolerations" and isinstance(value, list):
                yield from (t for t in value if isinstance(t, dict))
            else:
                yield from tolerations_in(value)
    elif isinstance(tree, list):
        for item in tree:
            yield from tolerations_in(item)


def is_gpu_node(node: dict[str, Any], label_key: str, label_value: str) -> bool:
    return (node.get("metadata", {}).get("labels") or {}).get(label_key) == label_value


def requests_gpu(pod: dict[str, Any]) -> bool:
    containers = pod.get("spec", {}).get("containers") or []
    return any(GPU_RESOURCE in ((c.get("resources") or {}).get("limits") or {}) for c in containers)


def is_node_agent(pod: dict[str, Any]) -> bool:
    """A DaemonSet's pod: it runs on every node it tolerates, by design."""
    owners = pod.get("metadata", {}).get("ownerReferences") or []
    return any(o.get("kind") == "DaemonSet" for o in owners)


def _name(pod: dict[str, Any]) -> str:
    meta = pod.get("metadata", {})
    return f"{meta.get('namespace')}/{meta.get('name')}"


def placement_problems(
    pods: list[dict[str, Any]],
    nodes: list[dict[str, Any]],
    *,
    label: tuple[str, str],
    taint: dict[str, Any],
    gpu_namespace: str,
) -> list[str]:
    """GPU pods off the GPU pool, other pods on it, and non-GPU workloads that tolerate its taint.

    A GPU workload asks for ``nvidia.com/gpu`` or runs in ``gpu_namespace`` (device plugin, DCGM).
    """
    gpu_nodes = {n["metadata"]["name"] for n in nodes if is_gpu_node(n, *label)}
    problems = []
    for pod in pods:
        node = pod.get("spec", {}).get("nodeName")
        gpu_workload = requests_gpu(pod) or pod.get("metadata", {}).get("namespace") == gpu_namespace
        tolerating = any(tolerates(t, taint) for t in pod.get("spec", {}).get("tolerations") or [])
        if gpu_workload and node not in gpu_nodes:
            problems.append(f"{_name(pod)} is a GPU workload on {node or 'no node'}, not on the GPU pool")
        elif not gpu_workload and node in gpu_nodes and not is_node_agent(pod):
            problems.append(f"{_name(pod)} is not a GPU workload but runs on GPU node {node}")
        if not gpu_workload and tolerating and not is_node_agent(pod):
            problems.append(f"{_name(pod)} tolerates the GPU pool's taint {taint} but is not a GPU workload")
    return problems


def _schedulable_for(pod: dict[str, Any], node: dict[str, Any]) -> bool:
    """The node is not cordoned and the pod tolerates each of its NoSchedule/NoExecute taints."""
    spec = node.get("spec", {})
    tolerations = pod.get("spec", {}).get("tolerations") or []
    hard = [t for t in spec.get("taints") or [] if t.get("effect") in ("NoSchedule", "NoExecute")]
    return not spec.get("unschedulable") and all(any(tolerates(tol, t) for tol in tolerations) for t in hard)


def spread_problems(pods: list[dict[str, Any]], nodes: list[dict[str, Any]], apps: list[str]) -> list[str]:
    """Each app (label ``app``) with two or more scheduled pods runs on more than one node, where nodes allow.

    Only nodes the app's pods may use count (not cordoned, taints tolerated): with one such node, one is right.
    """
    by_app: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for pod in pods:
        app = (pod.get("metadata", {}).get("labels") or {}).get("app")
        if app in apps and pod.get("spec", {}).get("nodeName"):
            by_app[app].append(pod)
    problems = []
    for app in apps:
        scheduled = by_app[app]
        used = sorted({p["spec"]["nodeName"] for p in scheduled})
        eligible = [n for n in nodes if scheduled and _schedulable_for(scheduled[0], n)]
        if len(scheduled) >= 2 and len(eligible) >= 2 and len(used) < 2:
            problems.append(f"{app}: {len(scheduled)} pods all on {used}, not spread")
    return problems


Get = Callable[..., dict[str, Any]]
"""As in ``lab/checks.py``: ``get("pods")`` -> the JSON of ``kubectl get pods -A -o json``."""

REPLICATED_APPS = ("litellm", "otel-collector", "vllm")
"""Pods (label ``app``) the ``cluster`` stack replicates: spread once two or more run, each under a PDB."""


def cluster_checks(
    get: Get, *, label: tuple[str, str], taint: dict[str, Any], gpu_namespace: str
) -> list[dict[str, Any]]:
    """The lab's checks after ``up`` of ``cluster``, in ``lab/checks.py``'s result format (name, ok, message).

    Fail closed: a check whose objects cannot be read fails with the reason.
    """
    results = []
    try:
        pods, nodes = get("pods").get("items") or [], get("nodes").get("items") or []
        problems = placement_problems(pods, nodes, label=label, taint=taint, gpu_namespace=gpu_namespace)
        gpu_pods = [_name(p) for p in pods if requests_gpu(p)]
        ok = bool(gpu_pods) and not problems
        results.append(_result("gpu-pool-placement", ok, "; ".join(problems) or f"GPU pods {gpu_pods} on the pool"))
        spread = spread_problems(pods, nodes, list(REPLICATED_APPS))
        results.append(_result("replicas-spread", not spread, "; ".join(spread) or f"{REPLICATED_APPS} spread"))
        missing = uncovered_apps(pods, get("pdb").get("items") or [], list(REPLICATED_APPS))
        results.append(_result("pdbs-present", not missing, f"no PDB for {missing}" if missing else "every one"))
        scaled = [s["metadata"]["name"] for s in get("scaledobjects.keda.sh").get("items") or []]
        hpas = [h["metadata"]["name"] for h in get("hpa").get("items") or []]
        ok = bool(scaled) and "litellm" in hpas
        results.append(_result("autoscalers-accepted", ok, f"ScaledObjects {scaled}, HPAs {hpas}"))
    except Exception as exc:  # a check that cannot read its objects fails, with the reason
        results.append(_result("cluster-placement", False, f"{type(exc).__name__}: {exc}"))
    return results


def uncovered_apps(pods: list[dict[str, Any]], budgets: list[dict[str, Any]], apps: list[str]) -> list[str]:
    """Apps none of whose pods a PodDisruptionBudget of their namespace selects (``matchLabels`` subset)."""

    def covered(pod: dict[str, Any]) -> bool:
        meta = pod.get("metadata", {})
        pod_labels = meta.get("labels") or {}
        return any(
            b.get("metadata", {}).get("namespace") == meta.get("namespace")
            and (match := ((b.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})
            and match.items() <= pod_labels.items()
            for b in budgets
        )

    def app_of(pod: dict[str, Any]) -> str | None:
        return (pod.get("metadata", {}).get("labels") or {}).get("app")

    with_pods = {app: [p for p in pods if app_of(p) == app] for app in apps}
    return sorted(app for app, found in with_pods.items() if not found or not any(covered(p) for p in found))


def _result(name: str, ok: bool, message: str) -> dict[str, Any]:
    return {"name": name, "ok": ok, "message": message}
