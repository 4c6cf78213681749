"""Every Helm values key path each pinned chart knows, extracted once, so tests can catch a typo.

A misspelt values key is silently ignored by Helm. ``python -m tools.chart_keys [CHARTS_DIR]``
reads each packaged chart (``<name>-<version>.tgz`` of every pin in ``versions.py`` and of
Istio's base/istiod/gateway, from the shared folder's ``charts`` by default, see ``tools/paths.py``),
merges the ``values.yaml`` of its subcharts under their key (alias or name; their ``global`` under
``global``), and writes the sorted key paths to ``tests/fixtures/chart_keys/<name>-<version>.txt``: facts, not the file.
Bumping a chart means re-running this and committing the new list.

Path syntax, shared with the checks: segments joined by ``.``, a segment holding ``.``, ``[``,
``]``, ``"`` or ``*`` is JSON-quoted (``grafana."grafana.ini"``), list items collapse to ``[]``,
and ``<path>.*`` marks an open container: a default of ``{}``, ``[]`` or ``null``, whose
content the chart leaves to the user (``podLabels``, ``extraEnv``, ``resources``).
"""

from __future__ import annotations

import io
import json
import re
import sys
import tarfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import versions  # noqa: E402
from tools.paths import shared_dir  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "chart_keys"
OPEN = "*"
ISTIO_CHARTS = ("base", "istiod", "gateway")
ISTIO_HIDDEN_DEFAULTS = "_internal_defaults_do_not_set"

FREE_FORM: dict[str, tuple[str, ...]] = {
    # Configuration files the chart passes through as they are, though their defaults are not empty.
    # podDisruptionBudget/autoscaling: keys its values.yaml documents commented out and templates/pdb.yaml
    # and hpa.yaml read (maxUnavailable, targetMemoryUtilizationPercentage).
    # ports.otlp-mesh: a port of the program's own (OTLP auth's receiver for the mesh); the templates render
    # every enabled ports.* entry (_config.tpl servicePortsConfig/podPortsConfig).
    "opentelemetry-collector": ("config", "alternateConfig", "podDisruptionBudget", "autoscaling", "ports.otlp-mesh"),
    "tempo": ("config",),
    "loki": (
        "loki.limits_config", "loki.schemaConfig", "loki.compactor", "loki.storage_config", "loki.structuredConfig",
    ),
    "alloy": ("alloy.configMap.content",),
    "kube-prometheus-stack": (
        "alertmanager.config", 'grafana."grafana.ini"', "prometheus.prometheusSpec.additionalScrapeConfigs",
    ),
    "istiod": ("meshConfig",),
}
"""Per chart: paths below which any key is accepted (free-form maps with non-empty defaults)."""

KUBERNETES_TYPED = (
    "resources", "podLabels", "podAnnotations", "labels", "annotations", "nodeSelector", "tolerations",
    "affinity", "securityContext", "podSecurityContext", "containerSecurityContext",
)
"""Keys, in any chart, that hold a Kubernetes object or label map: a ``resources`` default with
requests only still takes ``limits``, a ``podLabels`` default with one label takes more."""


# ---------------------------------------------------------------------------------------------
# Key paths
# ---------------------------------------------------------------------------------------------


def _segment(key: Any) -> str:
    text = str(key)
    return json.dumps(text) if re.search(r'[.\[\]"*]', text) or text == "" else text


def _join(prefix: str, key: Any) -> str:
    return f"{prefix}.{_segment(key)}" if prefix else _segment(key)


def default_paths(values: Any, prefix: str = "") -> Iterator[str]:
    """Every node of a chart's defaults, and ``<path>.*`` under the open ones."""
    if prefix:
        yield prefix
    if isinstance(values, Mapping):
        if not values and prefix:
            yield f"{prefix}.{OPEN}"
        for key, value in values.items():
            yield from default_paths(value, _join(prefix, key))
    elif isinstance(values, list):
        if not values:
            yield f"{prefix}.{OPEN}"
        for item in values:
            yield from default_paths(item, f"{prefix}[]")
    elif values is None and prefix:
        yield f"{prefix}.{OPEN}"


def value_paths(values: Any, prefix: str = "") -> Iterator[str]:
    """The leaves of values a program sets (an empty map or list is a leaf)."""
    if isinstance(values, Mapping) and values:
        for key, value in values.items():
            yield from value_paths(value, _join(prefix, key))
    elif isinstance(values, list) and values:
        for item in values:
            yield from value_paths(item, f"{prefix}[]")
    elif prefix:
        yield prefix


_SEGMENT = r'("(?:[^"\\]|\\.)*"|[^.\[\]"]+)((?:\[\])*)'


def _ancestors(path: str) -> Iterator[str]:
    """``a."b.c"[].d`` -> ``a``, ``a."b.c"``, ``a."b.c"[]``, ``a."b.c"[].d``."""
    for match in re.finditer(_SEGMENT, path):
        yield path[: match.end(1)]
        if match.group(2):
            yield path[: match.end()]


def _last(path: str) -> str:
    """The last segment's key: ``a."b.c"`` -> ``b.c``."""
    segments = re.findall(_SEGMENT, path)
    name = segments[-1][0] if segments else path
    return str(json.loads(name)) if name.startswith('"') else name


def unknown_keys(values: Any, known: set[str], free_form: Iterable[str] = ()) -> list[str]:
    """Paths of ``values`` that the chart's defaults do not have (outside open and free-form maps)."""
    free = tuple(free_form)
    unknown = []
    for path in sorted(set(value_paths(values))):
        if path in known:
            continue
        chain = list(_ancestors(path))
        if any(f"{a}.{OPEN}" in known for a in chain) or any(a in free for a in chain):
            continue
        if any(a in known and _last(a) in KUBERNETES_TYPED for a in chain[:-1]):
            continue
        unknown.append(path)
    return unknown


def chart_ref(chart: str, version: str | None) -> tuple[str, str | None]:
    """``(name, version)`` of a Chart resource's ``chart`` input: a name, ``oci://…/name`` or ``…/name-1.2.3.tgz``."""
    last = chart.rstrip("/").rsplit("/", 1)[-1]
    match = re.match(r"^(.+?)-(v?[0-9]+\.[0-9]+\.[0-9]+[^/]*)\.tgz$", last)
    if match:
        return match.group(1), version or match.group(2)
    return last, version


def fixture_path(name: str, version: str) -> Path:
    return FIXTURES / f"{name}-{version}.txt"


def load_keys(name: str, version: str) -> set[str]:
    path = fixture_path(name, version)
    if not path.exists():
        raise FileNotFoundError(f"no key list {path.relative_to(ROOT)}: run `python -m tools.chart_keys`")
    return {line for line in path.read_text().splitlines() if line and not line.startswith("#")}


# ---------------------------------------------------------------------------------------------
# Reading packaged charts
# ---------------------------------------------------------------------------------------------


def _chart_files(archive: tarfile.TarFile) -> dict[str, bytes]:
    files = {}
    for member in archive.getmembers():
        if member.isfile():
            handle = archive.extractfile(member)
            if handle is not None:
                files[member.name] = handle.read()
    return files


def chart_defaults(files: Mapping[str, bytes], root: str) -> dict[str, Any]:
    """A chart's values with its subcharts' values merged under their alias or name."""
    values = yaml.safe_load(files.get(f"{root}/values.yaml", b"") or b"{}") or {}
    # Istio charts keep their defaults under this key and merge them into the top level (zzz_profile.yaml).
    hidden = values.pop(ISTIO_HIDDEN_DEFAULTS, None)
    if isinstance(hidden, dict):
        values = _merge(hidden, values)
    chart = yaml.safe_load(files[f"{root}/Chart.yaml"]) or {}
    for dependency in chart.get("dependencies") or []:
        name = dependency["name"]
        key = dependency.get("alias") or name
        sub = _subchart(files, root, name)
        if sub is None:
            continue
        sub_global = sub.pop("global", None)
        values[key] = _merge(sub, values.get(key) or {})
        if isinstance(sub_global, dict):
            values["global"] = _merge(sub_global, values.get("global") or {})
    return values


def _subchart(files: Mapping[str, bytes], root: str, name: str) -> dict[str, Any] | None:
    if f"{root}/charts/{name}/Chart.yaml" in files:
        return chart_defaults(files, f"{root}/charts/{name}")
    for path, content in files.items():
        if re.fullmatch(rf"{re.escape(root)}/charts/{re.escape(name)}-[^/]+\.tgz", path):
            with tarfile.open(fileobj=io.BytesIO(content)) as archive:
                return chart_defaults(_chart_files(archive), name)
    return None


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base.get(key), value)
        return merged
    return override if override is not None else base


def pinned_charts() -> list[tuple[str, str]]:
    charts = [(pin.name, pin.version) for pin in versions.CHARTS.values()]
    return charts + [(name, versions.ISTIO) for name in ISTIO_CHARTS]


def extract(charts_dir: Path, name: str, version: str) -> list[str]:
    with tarfile.open(charts_dir / f"{name}-{version}.tgz") as archive:
        files = _chart_files(archive)
    return sorted(set(default_paths(chart_defaults(files, name))))


def main(argv: list[str]) -> int:
    charts_dir = Path(argv[0]) if argv else shared_dir() / "charts"
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, version in pinned_charts():
        target = fixture_path(name, version)
        paths = extract(charts_dir, name, version)
        header = f"# Key paths of {name}-{version}.tgz values.yaml (subcharts merged): `python -m tools.chart_keys`.\n"
        target.write_text(header + "\n".join(paths) + "\n")
        print(f"{target.relative_to(ROOT)}: {len(paths)} paths")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
