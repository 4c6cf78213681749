"""Which values a chart's templates read: Helm ignores the others, so the policies offline do too.

Under ``pulumi preview`` a ``helm.v4.Chart`` reaches the policy pack with no properties: the provider
registers the component without inputs (``RegisterComponentResource``), and the pack judges only the
objects the chart renders. A value no template reads renders nothing and is stored nowhere. The
offline preview cannot execute templates, so a chart's values stand in for what it renders; before
the pack sees them, every path no template can read is dropped (``read_values``), and both hosts
reach the same verdict for the same reason.

Reads are found in the template text, erring on the side of keeping: ``.Values.a.b`` reads ``a.b``
and everything under it; ``index .Values "a" "b"`` reads ``a.b``; a dependency's ``condition`` and
``tags`` are read; a subchart reads under its alias (or name) and ``global``. What the text cannot
trace keeps every value: ``.Values`` handed on whole, ``tpl`` (a template string taken from values
may read any path), a chart or subchart that cannot be read.
"""

from __future__ import annotations

import io
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_VALUES = re.compile(r"\.Values\b((?:\.[A-Za-z_][A-Za-z0-9_]*)*)")
_INDEX = re.compile(r"\bindex\s+\(?\$?[A-Za-z0-9_]*\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)*)\)?((?:\s+\"[^\"]*\")+)")
_TPL = re.compile(r"\btpl\b")

ValuePath = tuple[str, ...]


@dataclass
class ChartText:
    """The parts of a chart that decide what it reads: templates, dependencies, subcharts."""

    name: str
    templates: list[str] = field(default_factory=list)
    dependencies: list[dict[str, Any]] = field(default_factory=list)
    subcharts: list[ChartText] = field(default_factory=list)


@dataclass(frozen=True)
class Reads:
    paths: frozenset[ValuePath]
    """Value paths some template reads (with everything under them)."""
    everything: bool
    """True when the templates may read any value (``.Values`` handed on whole, ``tpl``)."""


# ---------------------------------------------------------------------------------------------
# Loading a chart directory or archive, subcharts included
# ---------------------------------------------------------------------------------------------


def load(path: Path) -> ChartText | None:
    """The chart at ``path`` (directory or ``.tgz``); None when it cannot be read."""
    try:
        if path.is_dir():
            files = {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}
        else:
            with tarfile.open(path) as archive:
                files = _archive_files(archive)
        return _from_files(files)
    except (tarfile.TarError, OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


def _archive_files(archive: tarfile.TarFile) -> dict[str, bytes]:
    """Relative path -> bytes, the archive's top directory stripped."""
    files: dict[str, bytes] = {}
    for member in archive.getmembers():
        handle = archive.extractfile(member) if member.isfile() else None
        if handle is not None and "/" in member.name:
            files[member.name.split("/", 1)[1]] = handle.read()
    return files


def _from_files(files: dict[str, bytes]) -> ChartText | None:
    meta = yaml.safe_load(files.get("Chart.yaml", b"").decode("utf-8")) if "Chart.yaml" in files else None
    if not isinstance(meta, dict):
        return None
    chart = ChartText(
        name=str(meta.get("name") or ""),
        templates=[text.decode("utf-8") for name, text in sorted(files.items()) if name.startswith("templates/")],
        dependencies=[d for d in meta.get("dependencies") or [] if isinstance(d, dict)],
    )
    nested: dict[str, dict[str, bytes]] = {}
    for name, data in files.items():
        parts = name.split("/")
        if parts[0] != "charts" or len(parts) < 2:
            continue
        if len(parts) == 2 and parts[1].endswith((".tgz", ".tar.gz")):
            with tarfile.open(fileobj=io.BytesIO(data)) as archive:
                sub = _from_files(_archive_files(archive))
            if sub is None:
                raise OSError(f"subchart {parts[1]} cannot be read")
            chart.subcharts.append(sub)
        elif len(parts) > 2:
            nested.setdefault(parts[1], {})["/".join(parts[2:])] = data
    for directory, sub_files in sorted(nested.items()):
        sub = _from_files(sub_files)
        if sub is None:
            raise OSError(f"subchart {directory} cannot be read")
        chart.subcharts.append(sub)
    return chart


# ---------------------------------------------------------------------------------------------
# What the templates read
# ---------------------------------------------------------------------------------------------


def _dotted(text: str) -> ValuePath:
    return tuple(part for part in text.split(".") if part)


def template_reads(text: str) -> Reads:
    """The value paths one template reads."""
    if _TPL.search(text):
        return Reads(frozenset(), True)
    paths: set[ValuePath] = set()
    spans: list[tuple[int, int]] = []
    for found in _INDEX.finditer(text):
        keys = tuple(re.findall(r"\"([^\"]*)\"", found.group(2)))
        paths.add(_dotted(found.group(1)) + keys)
        spans.append(found.span())
    for found in _VALUES.finditer(text):
        if any(start <= found.start() < end for start, end in spans):
            continue
        path = _dotted(found.group(1))
        if not path:
            return Reads(frozenset(), True)  # .Values handed on whole: anything may be read
        paths.add(path)
    return Reads(frozenset(paths), False)


def chart_reads(chart: ChartText) -> Reads:
    """Every value path the chart and its subcharts read, relative to the chart's values."""
    paths: set[ValuePath] = set()
    for text in chart.templates:
        reads = template_reads(text)
        if reads.everything:
            return reads
        paths |= reads.paths
    for dependency in chart.dependencies:
        for condition in str(dependency.get("condition") or "").split(","):
            if condition.strip():
                paths.add(_dotted(condition.strip()))
        paths.update(("tags", str(tag)) for tag in dependency.get("tags") or [])
    for sub in chart.subcharts:
        reads = chart_reads(sub)
        if reads.everything:  # named templates are shared: a subchart's helper may read the parent's values
            return reads
        keys = [str(d.get("alias") or sub.name) for d in chart.dependencies if d.get("name") == sub.name] or [sub.name]
        for key in keys:
            paths.update((key, *path) for path in reads.paths)
        paths |= reads.paths  # global, and helpers the parent includes with its own context
    return Reads(frozenset(paths), False)


def read_values(values: Any, reads: Reads, at: ValuePath = ()) -> Any:
    """``values`` without the paths no template reads (maps emptied by that are dropped)."""
    if reads.everything or any(at[: len(path)] == path for path in reads.paths):
        return values
    if not isinstance(values, dict):
        return values  # a template reads below it, so it reads it (``.Values.a.b`` when ``a`` is a string)
    kept = {}
    for key, value in values.items():
        below = (*at, str(key))
        if any(path[: len(below)] == below for path in reads.paths):
            child = read_values(value, reads, below)
            if child is not None and child != {}:
                kept[key] = child
    return kept


def values_read_by(chart_path: Path | None, values: Any) -> Any:
    """What the chart at ``chart_path`` can do anything with; all of ``values`` when it cannot be read."""
    chart = load(chart_path) if chart_path is not None else None
    if chart is None or not isinstance(values, dict):
        return values
    return read_values(values, chart_reads(chart))
