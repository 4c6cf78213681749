"""The metric contract: which metric names each source exposes at its pinned version.

One YAML file per source in ``metrics/contract/`` (``source``, ``pin``, ``version``, ``reference``,
``metrics``, and optionally ``hidden`` and ``deprecated``), each read from that version's source or
docs. ``metrics`` lists the series names as Prometheus stores them: histograms as ``_bucket``/
``_sum``/``_count``, counters with ``_total`` where the exporter adds it.

``pin`` says where the platform pins the version, so a bump without a refreshed table is caught:
``image:<key>`` (``versions.IMAGES``), ``chart:<name>`` (``versions.CHARTS``), ``istio`` or ``k3s``.
The plan's own images and charts win over ``versions.py``, so a stack's ``versions`` override counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import versions
from offline.checks.gateway import chart_name
from offline.plan import Plan

CONTRACT_DIR = Path(__file__).resolve().parent.parent / "metrics" / "contract"
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
METRIC_WORD = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML has it (the tables are read on every preview); the same documents."""


@dataclass(frozen=True)
class SourceTable:
    """One source's metric names at one version."""

    source: str
    pin: str
    version: str
    reference: dict[str, Any]
    metrics: frozenset[str]
    hidden: dict[str, str] = field(default_factory=dict)
    """Names the source declares but does not expose by default at this version, and why."""
    deprecated: dict[str, str] = field(default_factory=dict)
    """Base names still exposed but deprecated (gone in a later version), and why; the note names the successor."""

    def successor(self, deprecated: str) -> str | None:
        """The first exposed base name the deprecation note of ``deprecated`` names: what to use instead."""
        exposed = {base_name(m) for m in self.metrics} - {deprecated}
        words = METRIC_WORD.findall(self.deprecated.get(deprecated, ""))
        return next((word for word in words if word in exposed), None)


def load(directory: Path = CONTRACT_DIR) -> list[SourceTable]:
    """Every table in ``directory``; a malformed file is an error naming the file and the key."""
    tables = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            document = yaml.load(path.read_text(), Loader=_LOADER) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"{path.name}: not YAML ({exc})") from exc
        for key in ("source", "pin", "version", "reference", "metrics"):
            if not document.get(key):
                raise ValueError(f"{path.name}: missing {key!r} (see offline/metric_contract.py for the format)")
        table = SourceTable(
            source=str(document["source"]),
            pin=str(document["pin"]),
            version=str(document["version"]),
            reference=dict(document["reference"]),
            metrics=frozenset(str(m) for m in document["metrics"]),
            hidden={str(k): str(v) for k, v in (document.get("hidden") or {}).items()},
            deprecated={str(k): str(v) for k, v in (document.get("deprecated") or {}).items()},
        )
        _check_marks(path.name, table)
        tables.append(table)
    if not tables:
        raise ValueError(f"no metric contract tables in {directory}")
    return tables


def _check_marks(file: str, table: SourceTable) -> None:
    """A deprecated name is still exposed (else it is hidden) and a hidden one is not: the marks cannot contradict."""
    exposed = {base_name(m) for m in table.metrics}
    for name in table.deprecated:
        if base_name(name) not in exposed:
            raise ValueError(f"{file}: deprecated {name!r} is not in 'metrics' (one not exposed goes under 'hidden')")
        if table.successor(name) is None:
            raise ValueError(f"{file}: the note of deprecated {name!r} names no successor from 'metrics'")
    for name in table.hidden:
        if name in table.metrics or base_name(name) in exposed:
            raise ValueError(f"{file}: hidden {name!r} is also in 'metrics': it is exposed or it is hidden, not both")


def _plan_strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for value in node.values() for s in _plan_strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _plan_strings(value)]
    return [node] if isinstance(node, str) else []


def pinned_version(pin: str, plan: Plan | None = None) -> str:
    """The version ``pin`` resolves to: what the plan deploys, else what ``versions.py`` pins."""
    kind, _, name = pin.partition(":")
    if kind == "image":
        image = versions.IMAGES[name]
        repository = image.rsplit(":", 1)[0]
        if plan is not None:
            for resource in plan.resources:
                for text in _plan_strings(resource.inputs):
                    if text.startswith(repository + ":"):
                        return text.rsplit(":", 1)[1]
        return image.rsplit(":", 1)[1]
    if kind == "chart":
        if plan is not None:
            for chart in plan.charts():
                if chart_name(chart) == name and chart.inputs.get("version"):
                    return str(chart.inputs["version"])
        return versions.CHARTS[name].version
    if kind == "istio":
        return versions.ISTIO
    if kind == "k3s":
        return versions.K3S
    raise ValueError(f"unknown pin {pin!r}: use image:<key>, chart:<name>, istio or k3s")


def base_name(series: str) -> str:
    """``x_bucket``/``x_sum``/``x_count`` -> ``x``; other names unchanged."""
    for suffix in HISTOGRAM_SUFFIXES:
        if series.endswith(suffix):
            return series[: -len(suffix)]
    return series
