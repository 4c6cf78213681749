"""The one Kubernetes quantity parser of the repository (config rules, footprint, bench).

``500m`` -> 0.5, ``1Gi`` -> 1073741824, ``1G`` -> 1e9, ``5e9`` -> 5e9 (decimal exponent): cores for
CPU, bytes for memory.
"""

from __future__ import annotations

import re
from typing import Any

UNITS = {
    "": 1.0, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50, "Ei": 2.0**60,
}  # fmt: skip


def parse(value: Any) -> float:
    """Kubernetes quantity -> number; ValueError naming the value when it is none."""
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+))?([A-Za-z]*)", str(value).strip())
    if not match or match.group(3) not in UNITS or (match.group(2) and match.group(3)):
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    exponent = 10.0 ** int(match.group(2)) if match.group(2) else 1.0
    return float(match.group(1)) * exponent * UNITS[match.group(3)]
