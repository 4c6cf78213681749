"""Deploy critical path from plan.json: the longest chain of resources that wait for readiness."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TABLE = Path(__file__).with_name("readiness.yaml")


def chart_name(resource: dict[str, Any]) -> str:
    chart = str((resource.get("inputs") or {}).get("chart", ""))
    base = chart.rsplit("/", 1)[-1]
    if base.endswith(".tgz"):
        base = base[: -len(".tgz")].rsplit("-", 1)[0]  # <name>-<version>.tgz, as in a mirror
    return base


def matches(resource: dict[str, Any], match: dict[str, str]) -> bool:
    inputs = resource.get("inputs") or {}
    kind = str(inputs.get("kind") or resource["type"].rsplit(":", 1)[-1])
    checks = {
        "type": lambda v: resource["type"] == v,
        "chart": lambda v: resource["type"].startswith("kubernetes:helm.sh") and chart_name(resource) == v,
        "kind": lambda v: kind == v,
        "name": lambda v: v in resource["name"],
    }
    return all(checks[key](value) for key, value in match.items())


def load_table(path: Path = TABLE) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def seconds_for(resource: dict[str, Any], table: dict[str, Any]) -> float:
    if any(matches(resource, row["match"]) for row in table.get("excluded", [])):
        return 0.0
    for row in table["rows"]:
        if matches(resource, row["match"]):
            return float(row["seconds"])
    return 0.0


@dataclass
class CriticalPath:
    seconds: float
    chain: list[tuple[str, float]]
    waves: int
    sequential_seconds: float
    sequential_phases: list[tuple[str, float]]

    @property
    def ratio(self) -> float:
        return self.seconds / self.sequential_seconds if self.sequential_seconds else 0.0


def critical_path(
    plan: dict[str, Any], table: dict[str, Any] | None = None, *, with_excluded: bool = False
) -> CriticalPath:
    """Longest readiness-weighted chain through the waves of ``plan`` (the plan.json document).

    Rows under ``excluded`` in the table (work the runbook never did, such as the post-deploy
    verification) count 0 s so the ratio compares like with like; ``with_excluded`` counts them.
    """
    table = dict(table or load_table())
    if with_excluded:
        table["excluded"] = []
    resources = {r["urn"]: r for r in plan["resources"]}
    deployable = {urn for wave in plan["waves"] for urn in wave}
    children: dict[str, list[str]] = {}
    for r in plan["resources"]:
        if r.get("parent"):
            children.setdefault(r["parent"], []).append(r["urn"])

    def expand(urn: str) -> list[str]:
        if urn in deployable:
            return [urn]
        return [d for child in children.get(urn, []) for d in expand(child)]

    finish: dict[str, tuple[float, str | None]] = {}
    for wave in plan["waves"]:
        for urn in wave:
            deps = {d for dep in resources[urn]["dependencies"] for d in expand(dep) if d in finish}
            start, via = max(((finish[d][0], d) for d in deps), default=(0.0, None))
            finish[urn] = (start + seconds_for(resources[urn], table), via)
    end = max(finish, key=lambda u: finish[u][0], default=None)
    chain: list[tuple[str, float]] = []
    while end is not None:
        kind = str((resources[end].get("inputs") or {}).get("kind") or resources[end]["type"].rsplit(":", 1)[-1])
        chain.append((f"{resources[end]['name']} [{kind}]", seconds_for(resources[end], table)))
        end = finish[end][1]
    chain.reverse()
    phases: list[tuple[str, float]] = []
    for phase in table["runbook_phases"]:
        hits = [r for r in plan["resources"] if r["urn"] in deployable and matches(r, phase["match"])]
        phases.append((phase["phase"], max((seconds_for(r, table) for r in hits), default=0.0)))
    return CriticalPath(
        seconds=sum(s for _, s in chain),
        chain=chain,
        waves=len(plan["waves"]),
        sequential_seconds=sum(s for _, s in phases),
        sequential_phases=phases,
    )
