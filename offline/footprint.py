"""CPU and memory the platform asks of a node: requests and limits per component.

Raw workloads are read container by container (times replicas). Charts are read from their
values: every ``resources`` block with requests/limits found in a chart's values counts once
per workload it configures (replica counts in values are honoured where they sit next to the
block). What a chart runs without a resources block in our values is not counted, and the
report says which charts those are, so the totals are a floor, never a guess.

Istio sidecars are added as their own line: one ``istio-proxy`` (resources from istiod's
``global.proxy.resources``) per raw workload in an injected namespace without the opt-out, and
per resources block of a chart deployed into an injected namespace unless that block's pod
labels/annotations opt out (an upper bound: a block may also size a container of a pod counted already).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from offline.plan import Plan, Resource
from quantities import parse as quantity

K3S_RESERVED_GIB = 1.5
"""Memory k3s itself keeps on a single node (server, containerd, CoreDNS, metrics-server,
local-path provisioner): k3s documents 512 MiB as the server minimum; with the bundled add-ons
about 1.5 GiB is a realistic planning figure. Node budgets below subtract it."""
NODE_BUDGET_GIB = {"gpu": 12, "dev": 8}
"""The node each stack must fit: the original system requirements (12 GiB minimum) for gpu, a
laptop-sized 8 GiB for dev."""
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "Pod")


@dataclass
class Totals:
    cpu_requests: float = 0.0
    cpu_limits: float = 0.0
    memory_requests: float = 0.0
    memory_limits: float = 0.0
    containers: int = 0

    def add(self, resources: dict[str, Any], times: int = 1) -> None:
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        self.cpu_requests += times * quantity(requests.get("cpu", 0))
        self.memory_requests += times * quantity(requests.get("memory", 0))
        self.cpu_limits += times * quantity(limits.get("cpu", requests.get("cpu", 0)))
        self.memory_limits += times * quantity(limits.get("memory", requests.get("memory", 0)))
        self.containers += times

    def merge(self, other: Totals) -> None:
        self.cpu_requests += other.cpu_requests
        self.cpu_limits += other.cpu_limits
        self.memory_requests += other.memory_requests
        self.memory_limits += other.memory_limits
        self.containers += other.containers


@dataclass
class Footprint:
    by_component: dict[str, Totals] = field(default_factory=dict)
    charts_without_resources: list[str] = field(default_factory=list)

    @property
    def total(self) -> Totals:
        total = Totals()
        for totals in self.by_component.values():
            total.merge(totals)
        return total


def _workload_containers(resource: Resource) -> tuple[list[dict[str, Any]], int]:
    spec = resource.inputs.get("spec") or {}
    replicas = int(spec.get("replicas", 1)) if resource.kind in ("Deployment", "StatefulSet") else 1
    pod = spec if resource.kind == "Pod" else ((spec.get("jobTemplate") or {}).get("spec") or spec)
    pod_spec = pod.get("spec") if resource.kind == "Pod" else ((pod.get("template") or {}).get("spec") or {})
    containers = list((pod_spec or {}).get("containers") or []) + list((pod_spec or {}).get("initContainers") or [])
    return containers, replicas


def _opt_out_marks(values: dict[str, Any]) -> bool:
    """A chart values block whose pod labels/annotations carry Istio's injection opt-out."""
    holders = [values.get(k) for k in ("podLabels", "podAnnotations", "labels", "annotations")]
    metadata = values.get("podMetadata")
    if isinstance(metadata, dict):
        holders += [metadata.get("labels"), metadata.get("annotations")]
    return any(isinstance(h, dict) and h.get("sidecar.istio.io/inject") == "false" for h in holders)


def _value_blocks(values: Any, opted_out: bool = False) -> list[tuple[dict[str, Any], int, bool]]:
    """Every ``resources`` block in chart values: (block, replicas next to it, pod opts out of sidecars).

    ``global`` holds settings shared by a chart's workloads (istiod's sidecar template, for one),
    not a workload of its own, so it is skipped.
    """
    found: list[tuple[dict[str, Any], int, bool]] = []
    if isinstance(values, dict):
        opted_out = opted_out or _opt_out_marks(values)
        block = values.get("resources")
        if isinstance(block, dict) and (block.get("requests") or block.get("limits")):
            replicas = values.get("replicas", values.get("replicaCount", 1))
            found.append((block, int(replicas) if isinstance(replicas, int | float) else 1, opted_out))
        for key, child in values.items():
            if key not in ("resources", "global"):
                found.extend(_value_blocks(child, opted_out))
    elif isinstance(values, list):
        for item in values:
            found.extend(_value_blocks(item, opted_out))
    return found


def _injected_namespaces(plan: Plan) -> set[str]:
    return {
        r.k8s_name
        for r in plan.k8s("Namespace")
        if (r.metadata.get("labels") or {}).get("istio-injection") == "enabled"
    }


def _proxy_resources(plan: Plan) -> dict[str, Any] | None:
    for chart in plan.charts():
        proxy = ((chart.inputs.get("values") or {}).get("global") or {}).get("proxy") or {}
        if isinstance(proxy.get("resources"), dict):
            return dict(proxy["resources"])
    return None


def _opted_out(resource: Resource) -> bool:
    spec = resource.inputs.get("spec") or {}
    template = (spec.get("template") or {}).get("metadata") or {}
    marks = {**(template.get("labels") or {}), **(template.get("annotations") or {})}
    return marks.get("sidecar.istio.io/inject") == "false" or bool(
        (spec.get("template") or {}).get("spec", {}).get("hostNetwork")
    )


def scaled_floors(plan: Plan) -> dict[tuple[str | None, str], int]:
    """Workloads whose count an HPA or a KEDA ScaledObject owns: the replicas it never goes below."""
    floors: dict[tuple[str | None, str], int] = {}
    for resource in plan.resources:
        spec = resource.inputs.get("spec") or {}
        target = (spec.get("scaleTargetRef") or {}).get("name") if isinstance(spec, dict) else None
        if resource.kind == "HorizontalPodAutoscaler" and target:
            floors[(resource.namespace, str(target))] = int(spec.get("minReplicas", 1))
        elif resource.kind == "ScaledObject" and target:
            floors[(resource.namespace, str(target))] = int(spec.get("minReplicaCount", 0))
    return floors


def footprint(plan: Plan, owner: Any) -> Footprint:
    """Sum requests and limits per top-level component; ``owner(plan, resource) -> name``.

    A Deployment without ``replicas`` (an autoscaler owns it) counts at its autoscaler's minimum.
    """
    result = Footprint()
    by_component: dict[str, Totals] = defaultdict(Totals)
    injected, proxy = _injected_namespaces(plan), _proxy_resources(plan)
    floors = scaled_floors(plan)
    sidecars = 0
    for resource in plan.resources:
        if resource.is_kubernetes_object and resource.kind in WORKLOAD_KINDS:
            containers, replicas = _workload_containers(resource)
            if resource.kind == "Deployment" and "replicas" not in (resource.inputs.get("spec") or {}):
                replicas = floors.get((resource.namespace, resource.k8s_name), 1)
            for container in containers:
                if container.get("resources"):
                    by_component[owner(plan, resource)].add(container["resources"], replicas)
            if resource.namespace in injected and not _opted_out(resource):
                sidecars += replicas
        elif resource.type.startswith("kubernetes:helm.sh"):
            blocks = _value_blocks(resource.inputs.get("values") or {})
            if not blocks:
                result.charts_without_resources.append(resource.name)
            for block, replicas, opted_out in blocks:
                by_component[owner(plan, resource)].add(block, replicas)
                if resource.inputs.get("namespace") in injected and not opted_out:
                    sidecars += replicas
    if proxy and sidecars:
        by_component["istio-proxy"].add(proxy, sidecars)
    result.by_component = dict(sorted(by_component.items()))
    return result


def by_node_pool(fp: Footprint, gpu_owners: set[str]) -> dict[str, Totals]:
    """Totals per node pool: the GPU pool runs ``gpu_owners`` (engines, device plugin, DCGM), the CPU pool the rest.

    Node agents (DaemonSets) count once, in the pool of their component; each further node adds theirs.
    """
    pools = {"gpu": Totals(), "cpu": Totals()}
    for name, totals in fp.by_component.items():
        pools["gpu" if name in gpu_owners else "cpu"].merge(totals)
    return pools


def gib(value: float) -> str:
    return f"{value / 2**30:.2f} GiB"


def describe(fp: Footprint) -> list[str]:
    lines = ["Footprint (requests / limits):"]
    for name, t in [*fp.by_component.items(), ("TOTAL", fp.total)]:
        lines.append(
            f"  {name:<12} cpu {t.cpu_requests:6.2f} / {t.cpu_limits:6.2f} cores   "
            f"memory {gib(t.memory_requests):>10} / {gib(t.memory_limits):>10}   ({t.containers} containers)"
        )
    if fp.charts_without_resources:
        lines.append(f"  not counted (chart values set no resources): {', '.join(sorted(fp.charts_without_resources))}")
    return lines
