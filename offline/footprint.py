"""CPU and memory the platform asks of a node: requests and limits per component.

Raw workloads are read container by container (times replicas). Charts are read from their
values: every ``resources`` block with requests/limits found in a chart's values counts once
per workload it configures (replica counts in values are honoured where they sit next to the
block). What a chart runs without a resources block in our values is not counted, and the
report says which charts those are, so the totals are a floor, never a guess.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from offline.plan import Plan, Resource

_UNITS = {
    "": 1.0, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
    "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40,
}  # fmt: skip
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "Pod")


def quantity(value: Any) -> float:
    """Kubernetes quantity -> number (cores for CPU, bytes for memory)."""
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(value).strip())
    if not match or match.group(2) not in _UNITS:
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


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


def _value_blocks(values: Any) -> list[tuple[dict[str, Any], int]]:
    """Every ``resources`` block in chart values, with the replica count next to it (default 1)."""
    found: list[tuple[dict[str, Any], int]] = []
    if isinstance(values, dict):
        block = values.get("resources")
        if isinstance(block, dict) and (block.get("requests") or block.get("limits")):
            replicas = values.get("replicas", values.get("replicaCount", 1))
            found.append((block, int(replicas) if isinstance(replicas, int | float) else 1))
        for key, child in values.items():
            if key != "resources":
                found.extend(_value_blocks(child))
    elif isinstance(values, list):
        for item in values:
            found.extend(_value_blocks(item))
    return found


def footprint(plan: Plan, owner: Any) -> Footprint:
    """Sum requests and limits per top-level component; ``owner(plan, resource) -> name``."""
    result = Footprint()
    by_component: dict[str, Totals] = defaultdict(Totals)
    for resource in plan.resources:
        if resource.is_kubernetes_object and resource.kind in WORKLOAD_KINDS:
            containers, replicas = _workload_containers(resource)
            for container in containers:
                if container.get("resources"):
                    by_component[owner(plan, resource)].add(container["resources"], replicas)
        elif resource.type.startswith("kubernetes:helm.sh"):
            blocks = _value_blocks(resource.inputs.get("values") or {})
            if not blocks:
                result.charts_without_resources.append(resource.name)
            for block, replicas in blocks:
                by_component[owner(plan, resource)].add(block, replicas)
    result.by_component = dict(sorted(by_component.items()))
    return result


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
