"""Extract the schemas of the CRDs that pinned charts install (KEDA, Karpenter) into test fixtures.

Reads ``<name>-<version>.tgz`` of each pin in ``CHART_KINDS`` from the shared folder's ``charts``
(see ``tools/paths.py``), finds the CustomResourceDefinitions among its templates (Helm directives
dropped, inline values replaced by a placeholder: CRD templates only template metadata), and writes
``tests/fixtures/crd_schemas/<name>-<version>/<Kind>.json`` in the format of ``tools/gateway_api_schemas.py``.
Tests validate the plan's objects of those kinds against these files and need nothing else; CEL
rules stay in the files but jsonschema does not evaluate them (the lab's API server does).

    python -m tools.chart_crd_schemas [CHARTS_DIR]
"""

from __future__ import annotations

import json
import re
import sys
import tarfile
from pathlib import Path
from typing import Any

import yaml

import versions
from tools.gateway_api_schemas import _strip_descriptions
from tools.paths import shared_dir

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "crd_schemas"
CHART_KINDS: dict[str, tuple[str, ...]] = {
    "keda": ("ScaledObject",),
    "karpenter-crd": ("NodePool", "EC2NodeClass"),
}
"""Chart -> the kinds of its CRDs the program creates objects of."""
_TEMPLATE_LINE = re.compile(r"^\s*\{\{.*\}\}\s*$\n?", re.MULTILINE)
_TEMPLATE_VALUE = re.compile(r"\{\{.*?\}\}")


def crds_in(chart: Path) -> list[dict[str, Any]]:
    found = []
    with tarfile.open(chart) as archive:
        for member in archive.getmembers():
            if not member.isfile() or not member.name.endswith((".yaml", ".yml")) or "/templates/" not in member.name:
                continue
            text = (archive.extractfile(member) or b"").read().decode()  # type: ignore[union-attr]
            if "kind: CustomResourceDefinition" not in text:
                continue
            # Whole-line directives go; an inline value (a label, a name) becomes a placeholder.
            for doc in yaml.safe_load_all(_TEMPLATE_VALUE.sub("templated", _TEMPLATE_LINE.sub("", text))):
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                    found.append(doc)
    return found


def extract(crd: dict[str, Any], chart: str) -> dict[str, Any]:
    return {
        "group": crd["spec"]["group"],
        "kind": crd["spec"]["names"]["kind"],
        "chart": chart,
        "versions": {
            v["name"]: _strip_descriptions(v["schema"]["openAPIV3Schema"])
            for v in crd["spec"]["versions"]
            if v.get("served")
        },
    }


def write_fixtures(charts_dir: Path, out: Path = FIXTURES) -> list[Path]:
    written = []
    for name, kinds in CHART_KINDS.items():
        pin = versions.CHARTS[name]
        chart = f"{name}-{pin.version}"
        crds = {c["spec"]["names"]["kind"]: c for c in crds_in(charts_dir / f"{chart}.tgz")}
        missing = sorted(set(kinds) - set(crds))
        if missing:
            raise SystemExit(f"{chart}.tgz has no CRD for {missing}")
        (out / chart).mkdir(parents=True, exist_ok=True)
        for kind in kinds:
            path = out / chart / f"{kind}.json"
            path.write_text(json.dumps(extract(crds[kind], chart), indent=1, sort_keys=True) + "\n")
            written.append(path)
    return written


def main(argv: list[str]) -> None:
    charts_dir = Path(argv[0]) if argv else shared_dir() / "charts"
    for path in write_fixtures(charts_dir):
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main(sys.argv[1:])
