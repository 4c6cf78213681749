"""Placement on a multi-node cluster: pure functions over API-server JSON (pods, nodes) and plan inputs.

What the ``cluster`` stack promises: every GPU workload runs on a node of the GPU pool, nothing else
does (node agents, DaemonSets such as node-exporter and Alloy, excepted: they observe every node),
only GPU workloads tolerate the pool's taint, replicated workloads spread over nodes and each has
a PodDisruptionBudget, and the autoscalers the program made target workloads that exist. The lab
applies these to ``kubectl get ... -o json`` (``lab/checks.py`` reads, failing closed); the tests
apply ``tolerations_in`` and ``tolerates`` to the offline plan. No I/O here, so every rule has a
unit test.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

GPU_RESOURCE = "nvidia.com/gpu"

Obj = dict[str, Any]


@dataclass(frozen=True)
class GpuPool:
    """The dedicated GPU pool as the stack's configuration names it (``lab/gpu_pool.py`` reads it)."""

    label: tuple[str, str]
    """The pool's label (key, value): what makes a node a GPU node."""
    taint: dict[str, str]
    """The pool's taint (key, value, effect): what keeps every other pod off."""
    gpu_namespace: str
    """Device plugin and DCGM exporter: GPU workloads without a GPU request."""
    node_labels: dict[str, str] = field(default_factory=dict)
    """Every label the GPU workloads select (the pool's, ``gpu.nodeLabel``, Karpenter's NodePool)."""


# ---------------------------------------------------------------------------------------------
# Tolerations, nodes and pods
# ---------------------------------------------------------------------------------------------


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


def is_gpu_node(node: Obj, label_key: str, label_value: str) -> bool:
    return (node.get("metadata", {}).get("labels") or {}).get(label_key) == label_value


def gpu_nodes(nodes: list[Obj], label: tuple[str, str]) -> set[str]:
    return {n["metadata"]["name"] for n in nodes if is_gpu_node(n, *label)}


def requests_gpu(pod: Obj) -> bool:
    containers = pod.get("spec", {}).get("containers") or []
    return any(GPU_RESOURCE in ((c.get("resources") or {}).get("limits") or {}) for c in containers)


def daemon_set_of(pod: Obj) -> str | None:
    """``namespace/name`` of the DaemonSet that owns the pod, if one does."""
    meta = pod.get("metadata", {})
    owner = next((o for o in meta.get("ownerReferences") or [] if o.get("kind") == "DaemonSet"), None)
    return f"{meta.get('namespace')}/{owner.get('name')}" if owner else None


def is_node_agent(pod: Obj) -> bool:
    """A DaemonSet's pod: it runs on every node it tolerates, by design."""
    return daemon_set_of(pod) is not None


def _name(obj: Obj) -> str:
    meta = obj.get("metadata", {})
    return f"{meta.get('namespace')}/{meta.get('name')}"


def _gpu_workload(pod: Obj, gpu_namespace: str) -> bool:
    """Asks for ``nvidia.com/gpu`` or runs in the GPU namespace (device plugin, DCGM)."""
    return requests_gpu(pod) or pod.get("metadata", {}).get("namespace") == gpu_namespace


def gpu_pods_off_pool(pods: list[Obj], pool_nodes: set[str], gpu_namespace: str) -> list[str]:
    """GPU workloads that run anywhere but on a node of the pool (or on no node at all)."""
    return [
        f"{_name(p)} is a GPU workload on {p.get('spec', {}).get('nodeName') or 'no node'}, not on the GPU pool"
        for p in pods
        if _gpu_workload(p, gpu_namespace) and p.get("spec", {}).get("nodeName") not in pool_nodes
    ]


def others_on_pool(pods: list[Obj], pool_nodes: set[str], taint: dict[str, Any], gpu_namespace: str) -> list[str]:
    """Pods that are not GPU workloads but run on the pool or tolerate its taint; node agents excepted."""
    problems = []
    for pod in pods:
        if _gpu_workload(pod, gpu_namespace) or is_node_agent(pod):
            continue
        node = pod.get("spec", {}).get("nodeName")
        if node in pool_nodes:
            problems.append(f"{_name(pod)} is not a GPU workload but runs on GPU node {node}")
        if any(tolerates(t, taint) for t in pod.get("spec", {}).get("tolerations") or []):
            problems.append(f"{_name(pod)} tolerates the GPU pool's taint {taint} but is not a GPU workload")
    return problems


def node_agents_on(pods: list[Obj], pool_nodes: set[str], gpu_namespace: str) -> list[str]:
    """The DaemonSets (not the GPU ones) that have pods on the pool: the named exceptions."""
    return sorted(
        {
            owner
            for p in pods
            if (owner := daemon_set_of(p))
            and p.get("spec", {}).get("nodeName") in pool_nodes
            and not _gpu_workload(p, gpu_namespace)
        }
    )


def placement_problems(
    pods: list[Obj], nodes: list[Obj], *, label: tuple[str, str], taint: dict[str, Any], gpu_namespace: str
) -> list[str]:
    """GPU pods off the GPU pool, other pods on it, and non-GPU workloads that tolerate its taint."""
    pool = gpu_nodes(nodes, label)
    return gpu_pods_off_pool(pods, pool, gpu_namespace) + others_on_pool(pods, pool, taint, gpu_namespace)


def pool_node_problems(nodes: list[Obj], pool: GpuPool) -> list[str]:
    """The cluster has GPU nodes with every label and the taint of the pool, and two untainted CPU nodes."""
    carrying = [
        n["metadata"]["name"]
        for n in nodes
        if pool.node_labels.items() <= (n["metadata"].get("labels") or {}).items()
        and pool.taint in [_taint_of(t) for t in n.get("spec", {}).get("taints") or []]
    ]
    cpu = [
        n["metadata"]["name"]
        for n in nodes
        if not is_gpu_node(n, *pool.label) and not n.get("spec", {}).get("unschedulable")
        and not any(t.get("effect") in ("NoSchedule", "NoExecute") for t in n.get("spec", {}).get("taints") or [])
    ]  # fmt: skip
    problems = []
    if not carrying:
        problems.append(f"no node carries the pool's labels {pool.node_labels} and taint {pool.taint}")
    if len(cpu) < 2:
        problems.append(f"{len(cpu)} schedulable untainted CPU node(s) {cpu}: spreading needs two")
    return problems


def _taint_of(taint: Obj) -> dict[str, str]:
    return {"key": taint.get("key", ""), "value": taint.get("value") or "", "effect": taint.get("effect", "")}


# ---------------------------------------------------------------------------------------------
# Workloads: replication, spreading, disruption budgets, autoscalers
# ---------------------------------------------------------------------------------------------


def workload_key(obj: Obj) -> str:
    """``Deployment/litellm/litellm``: kind, namespace, name."""
    meta = obj.get("metadata", {})
    return f"{obj.get('kind')}/{meta.get('namespace')}/{meta.get('name')}"


def selects(selector: Obj | None, labels: dict[str, str]) -> bool:
    """A label selector (``matchLabels`` and ``matchExpressions``) against labels; an empty one selects nothing."""
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return False
    if not (selector.get("matchLabels") or {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        present = key in labels
        ok = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }.get(operator, False)
        if not ok:
            return False
    return True


def pods_of(workload: Obj, pods: list[Obj]) -> list[Obj]:
    """The pods a Deployment or StatefulSet selects, in its own namespace."""
    namespace = workload.get("metadata", {}).get("namespace")
    selector = workload.get("spec", {}).get("selector")
    return [
        p
        for p in pods
        if p.get("metadata", {}).get("namespace") == namespace and selects(selector, p["metadata"].get("labels") or {})
    ]


class Scaler(NamedTuple):
    """An HPA or a KEDA ScaledObject, reduced to what it scales and between which bounds."""

    key: str
    target: str
    minimum: int
    maximum: int


def owned_by_scaled_object(hpa: Obj) -> str | None:
    """The ScaledObject that controls this HPA (KEDA's operator made it), else None."""
    for ref in hpa.get("metadata", {}).get("ownerReferences") or []:
        keda = ref.get("kind") == "ScaledObject" and ref.get("apiVersion", "").startswith("keda.sh/")
        if keda and ref.get("controller"):
            return str(ref.get("name"))
    return None


def scalers(hpas: list[Obj], scaled_objects: list[Obj]) -> list[Scaler]:
    """Both kinds of autoscaler; KEDA's defaults where a ScaledObject leaves a bound out (0 and 100).

    An HPA that a ScaledObject controls is that ScaledObject's means of scaling, not a second
    autoscaler: ``keda_hpa_problems`` checks it against its ScaledObject instead.
    """
    found = []
    own_hpas = [h for h in hpas if owned_by_scaled_object(h) is None]
    for kind, items, low, high, default in (
        ("HorizontalPodAutoscaler", own_hpas, "minReplicas", "maxReplicas", (1, 1)),
        ("ScaledObject", scaled_objects, "minReplicaCount", "maxReplicaCount", (0, 100)),
    ):
        for obj in items:
            spec, namespace = obj.get("spec") or {}, obj.get("metadata", {}).get("namespace")
            ref = spec.get("scaleTargetRef") or {}
            target = f"{ref.get('kind') or 'Deployment'}/{namespace}/{ref.get('name')}"
            minimum, maximum = spec.get(low, default[0]), spec.get(high, default[1])
            found.append(Scaler(f"{kind}/{_name(obj)}", target, int(minimum), int(maximum)))
    return found


def replicated(workloads: list[Obj], scaling: list[Scaler]) -> dict[str, str]:
    """Workload key -> why it is replicated: two or more pods at its minimum, or scaled out on its queue.

    An engine under a ScaledObject counts from one replica (KEDA adds the second); a chart's own HPA
    that may stay at one replica (istiod's, 1 to 5) does not: ``single_minimum`` names those.
    """
    why: dict[str, str] = {}
    for workload in workloads:
        key, replicas = workload_key(workload), workload.get("spec", {}).get("replicas") or 1
        for scaler in (s for s in scaling if s.target == key):
            if scaler.minimum >= 2 or (scaler.key.startswith("ScaledObject/") and scaler.maximum >= 2):
                why[key] = f"{scaler.key} {scaler.minimum}-{scaler.maximum}"
        if key not in why and replicas >= 2 and not any(s.target == key for s in scaling):
            why[key] = f"{replicas} replicas"
    return why


def single_minimum(workloads: list[Obj], scaling: list[Scaler]) -> list[str]:
    """Autoscaled workloads whose minimum is one replica and that no ScaledObject scales (not replicated)."""
    keys = {workload_key(w) for w in workloads}
    chosen = replicated(workloads, scaling)
    return sorted(f"{s.target} ({s.key} {s.minimum}-{s.maximum})" for s in scaling if s.target in keys - set(chosen))


def uncovered(workloads: list[Obj], keys: set[str], budgets: list[Obj]) -> list[str]:
    """Workloads of ``keys`` whose pod template no PodDisruptionBudget of their namespace selects."""
    missing = []
    for workload in workloads:
        key = workload_key(workload)
        if key not in keys:
            continue
        namespace = workload.get("metadata", {}).get("namespace")
        labels = ((workload.get("spec", {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not any(
            b.get("metadata", {}).get("namespace") == namespace
            and selects((b.get("spec") or {}).get("selector"), labels)
            for b in budgets
        ):
            missing.append(key)
    return sorted(missing)


def _schedulable_for(pod: Obj, node: Obj) -> bool:
    """The node is not cordoned and the pod tolerates each of its NoSchedule/NoExecute taints."""
    spec = node.get("spec", {})
    tolerations = pod.get("spec", {}).get("tolerations") or []
    hard = [t for t in spec.get("taints") or [] if t.get("effect") in ("NoSchedule", "NoExecute")]
    return not spec.get("unschedulable") and all(any(tolerates(tol, t) for tol in tolerations) for t in hard)


def spread_over(scheduled: list[Obj], nodes: list[Obj]) -> tuple[bool, list[str]]:
    """(spread, nodes used): two or more pods use two or more nodes wherever two nodes would take them."""
    used = sorted({p["spec"]["nodeName"] for p in scheduled})
    eligible = [n for n in nodes if scheduled and _schedulable_for(scheduled[0], n)]
    return not (len(scheduled) >= 2 and len(eligible) >= 2 and len(used) < 2), used


def spread_problems(pods: list[Obj], nodes: list[Obj], apps: list[str]) -> list[str]:
    """Each app (label ``app``) with two or more scheduled pods runs on more than one node, where nodes allow.

    Only nodes the app's pods may use count (not cordoned, taints tolerated): with one such node, one is right.
    """
    by_app: dict[str, list[Obj]] = defaultdict(list)
    for pod in pods:
        app = (pod.get("metadata", {}).get("labels") or {}).get("app")
        if app in apps and pod.get("spec", {}).get("nodeName"):
            by_app[app].append(pod)
    problems = []
    for app in apps:
        ok, used = spread_over(by_app[app], nodes)
        if not ok:
            problems.append(f"{app}: {len(by_app[app])} pods all on {used}, not spread")
    return problems


def unspread(workloads: list[Obj], keys: set[str], pods: list[Obj], nodes: list[Obj]) -> tuple[list[str], list[str]]:
    """(problems, spread): replicated workloads of ``keys`` whose scheduled pods share one node, and those spread."""
    problems, spread = [], []
    for workload in sorted(workloads, key=workload_key):
        key = workload_key(workload)
        if key not in keys:
            continue
        scheduled = [p for p in pods_of(workload, pods) if p.get("spec", {}).get("nodeName")]
        ok, used = spread_over(scheduled, nodes)
        if not ok:
            problems.append(f"{key}: {len(scheduled)} pods all on {used}, not spread")
        elif len(used) >= 2:
            spread.append(f"{key} on {used}")
    return problems, spread


def autoscaler_problems(scaling: list[Scaler], workloads: list[Obj], made: list[str]) -> list[str]:
    """Every autoscaler the stack made exists and targets a workload that exists; no workload has two.

    ``made``: ``Kind/namespace/name`` of the autoscalers in the stack's state.
    """
    keys = {workload_key(w) for w in workloads}
    present = {s.key for s in scaling}
    problems = [f"{m} is in the stack's state but not in the cluster" for m in made if m not in present]
    problems += [f"{s.key} targets {s.target}, which does not exist" for s in scaling if s.target not in keys]
    by_target: dict[str, list[str]] = defaultdict(list)
    for s in scaling:
        by_target[s.target].append(s.key)
    problems += [f"{t} has two autoscalers: {sorted(k)}" for t, k in sorted(by_target.items()) if len(k) > 1]
    return problems


def short_of_minimum(scaling: list[Scaler], workloads: list[Obj]) -> list[str]:
    """HPAs whose target the HPA controller has not yet brought to ``minReplicas`` (``spec.replicas``)."""
    replicas = {workload_key(w): w.get("spec", {}).get("replicas") or 0 for w in workloads}
    return [
        f"{s.target} has {replicas[s.target]} replica(s), {s.key} asks for at least {s.minimum}"
        for s in scaling
        if s.key.startswith("HorizontalPodAutoscaler/") and s.target in replicas and replicas[s.target] < s.minimum
    ]


# ---------------------------------------------------------------------------------------------
# Custom resources: stored as the program sent them
# ---------------------------------------------------------------------------------------------


def sent_objects(export: dict[str, Any], kinds: tuple[str, ...]) -> dict[str, Obj]:
    """``Kind/namespace/name`` -> the inputs the program sent, for each object of ``kinds`` in a stack export."""
    found = {}
    for resource in (export.get("deployment") or {}).get("resources") or []:
        kind = str(resource.get("type", "")).rsplit(":", 1)[-1]
        inputs, outputs = resource.get("inputs") or {}, resource.get("outputs") or {}
        # The live object's name and namespace (a chart's child may leave the namespace to the chart).
        meta = outputs.get("metadata") if isinstance(outputs.get("metadata"), dict) else inputs.get("metadata")
        if not resource.get("custom") or kind not in kinds or not isinstance(meta, dict):
            continue
        found[f"{kind}/{meta.get('namespace') or ''}/{meta.get('name')}"] = inputs
    return found


def missing_fields(sent: Any, stored: Any, path: str = "") -> list[str]:
    """Where ``stored`` lacks or changed what was ``sent`` (API-server defaults may add, never drop)."""
    if isinstance(sent, dict):
        if not isinstance(stored, dict):
            return [f"{path or '.'}: sent an object, stored {stored!r}"]
        problems = []
        for key, value in sent.items():
            where = f"{path}.{key}" if path else key
            if key not in stored:
                problems.append(f"{where}: sent, not stored (pruned by the CRD schema?)")
            else:
                problems += missing_fields(value, stored[key], where)
        return problems
    if isinstance(sent, list):
        if not isinstance(stored, list) or len(stored) != len(sent):
            return [f"{path}: sent {len(sent)} item(s), stored {stored!r}"]
        return [
            p for i, (a, b) in enumerate(zip(sent, stored, strict=True)) for p in missing_fields(a, b, f"{path}[{i}]")
        ]
    return [] if sent == stored else [f"{path}: sent {sent!r}, stored {stored!r}"]


def stored_as_sent(sent: dict[str, Obj], stored: list[Obj], kinds: tuple[str, ...]) -> list[str]:
    """Each sent object of ``kinds`` is in the API server with every field of its spec; each kind was sent."""
    by_key = {f"{o.get('kind')}/{o['metadata'].get('namespace') or ''}/{o['metadata']['name']}": o for o in stored}
    problems = [f"the stack's state has no {kind}" for kind in kinds if not any(k.startswith(f"{kind}/") for k in sent)]
    for key, inputs in sorted(sent.items()):
        if key not in by_key:
            problems.append(f"{key}: not in the API server")
            continue
        problems += [f"{key} {p}" for p in missing_fields(inputs.get("spec") or {}, by_key[key].get("spec"), "spec")]
    return problems


def keda_hpa_name(scaled_object: Obj) -> str:
    """The HPA KEDA's operator would make: ``advanced.horizontalPodAutoscalerConfig.name``, else ``keda-hpa-<name>``."""
    spec = scaled_object.get("spec") or {}
    named = ((spec.get("advanced") or {}).get("horizontalPodAutoscalerConfig") or {}).get("name")
    return str(named or f"keda-hpa-{scaled_object.get('metadata', {}).get('name')}")


def keda_hpa_problems(sent: dict[str, Obj], hpas: list[Obj]) -> tuple[list[str], list[str]]:
    """(problems, HPAs found): each sent ScaledObject has the HPA KEDA's operator makes for it.

    That HPA carries the ScaledObject's name (``keda_hpa_name``), is controlled by it, scales the
    same target, between ``max(minReplicaCount, 1)`` and ``maxReplicaCount`` (KEDA's defaults 0 and
    100; the HPA's floor is one replica, KEDA itself takes a target to zero) on one External metric
    per trigger.
    """
    by_key = {f"{h['metadata'].get('namespace')}/{h['metadata']['name']}": h for h in hpas}
    problems, found = [], []
    wanted = {k: v for k, v in sent.items() if k.startswith("ScaledObject/")}
    if not wanted:
        return ["the stack's state has no ScaledObject"], []
    for key, scaled in sorted(wanted.items()):
        namespace, name = key.split("/", 2)[1:]
        spec = scaled.get("spec") or {}
        hpa_key = f"{namespace}/{keda_hpa_name(scaled)}"
        hpa = by_key.get(hpa_key)
        if hpa is None:
            problems.append(f"{key}: no HPA {hpa_key}")
            continue
        hpa_spec = hpa.get("spec") or {}
        if owned_by_scaled_object(hpa) != name:
            problems.append(f"{key}: HPA {hpa_key} is not controlled by it")
        ref, hpa_ref = spec.get("scaleTargetRef") or {}, hpa_spec.get("scaleTargetRef") or {}
        if (ref.get("kind") or "Deployment", ref.get("name")) != (hpa_ref.get("kind"), hpa_ref.get("name")):
            problems.append(f"{key}: HPA {hpa_key} scales {hpa_ref.get('kind')}/{hpa_ref.get('name')}, not {ref}")
        bounds = (max(int(spec.get("minReplicaCount", 0)), 1), int(spec.get("maxReplicaCount", 100)))
        if (hpa_spec.get("minReplicas"), hpa_spec.get("maxReplicas")) != bounds:
            problems.append(
                f"{key}: HPA {hpa_key} bounds {hpa_spec.get('minReplicas')}-{hpa_spec.get('maxReplicas')}, "
                f"expected {bounds[0]}-{bounds[1]}"
            )
        external = len([m for m in hpa_spec.get("metrics") or [] if m.get("type") == "External"])
        triggers = len(spec.get("triggers") or [])
        if external != triggers:
            problems.append(f"{key}: HPA {hpa_key} has {external} External metric(s) for {triggers} trigger(s)")
        found.append(f"{hpa_key} {hpa_spec.get('minReplicas')}-{hpa_spec.get('maxReplicas')} on {external} metric(s)")
    return problems, found


def keda_not_ready(sent: dict[str, Obj], stored: list[Obj]) -> list[str]:
    """Sent ScaledObjects whose ``Ready`` condition KEDA's operator has not set True (it validates the spec)."""
    by_key = {f"ScaledObject/{o['metadata'].get('namespace')}/{o['metadata']['name']}": o for o in stored}
    problems = []
    for key in sorted(k for k in sent if k.startswith("ScaledObject/")):
        conditions = ((by_key.get(key) or {}).get("status") or {}).get("conditions") or []
        ready = next((c for c in conditions if c.get("type") == "Ready"), None)
        if ready is None or ready.get("status") != "True":
            problems.append(f"{key} not Ready: {(ready or {}).get('message') or 'no Ready condition'}")
    return problems
