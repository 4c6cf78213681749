"""Extract the Gateway API CRD schemas the platform uses into test fixtures.

Reads the upstream CRDs of one bundle version from the reference directory and writes, per
kind, ``tests/fixtures/gateway_api/<version>/<Kind>.json``: the group, the bundle version and
the ``openAPIV3Schema`` of every served API version (descriptions dropped to keep the files
small; CEL ``x-kubernetes-validations`` stay, though jsonschema does not evaluate them).
Tests validate the plan's Gateway API objects against these files and need nothing else.

    python -m tools.gateway_api_schemas [--version v1.5.1] [--reference SHARED/reference]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

import versions
from tools.paths import shared_dir

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REFERENCE = shared_dir() / "reference"
FIXTURES = ROOT / "tests" / "fixtures" / "gateway_api"
KINDS = {
    "Gateway": "gateways", "HTTPRoute": "httproutes", "GRPCRoute": "grpcroutes", "ReferenceGrant": "referencegrants"
}
"""Kinds the program creates -> CRD plural (file ``gateway.networking.k8s.io_<plural>.yaml``)."""


def _strip_descriptions(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_descriptions(v) for k, v in node.items() if not (k == "description" and isinstance(v, str))}
    if isinstance(node, list):
        return [_strip_descriptions(v) for v in node]
    return node


def extract(crd: dict[str, Any]) -> dict[str, Any]:
    """The fixture for one CRD: served versions and their schemas."""
    annotations = crd["metadata"].get("annotations", {})
    return {
        "group": crd["spec"]["group"],
        "kind": crd["spec"]["names"]["kind"],
        "bundleVersion": annotations.get("gateway.networking.k8s.io/bundle-version"),
        "channel": annotations.get("gateway.networking.k8s.io/channel"),
        "versions": {
            v["name"]: _strip_descriptions(v["schema"]["openAPIV3Schema"])
            for v in crd["spec"]["versions"]
            if v.get("served")
        },
    }


def write_fixtures(version: str, reference: Path = DEFAULT_REFERENCE, out: Path = FIXTURES) -> list[Path]:
    source = reference / "gateway-api" / version / "experimental"
    if not source.is_dir():
        raise SystemExit(f"no Gateway API {version} CRDs under {source}")
    target = out / version
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, plural in KINDS.items():
        crd = yaml.safe_load((source / f"gateway.networking.k8s.io_{plural}.yaml").read_text())
        path = target / f"{kind}.json"
        path.write_text(json.dumps(extract(crd), indent=1, sort_keys=True) + "\n")
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=versions.GATEWAY_API)
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    args = parser.parse_args()
    for path in write_fixtures(args.version, args.reference):
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
