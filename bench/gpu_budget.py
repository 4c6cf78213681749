"""GPU memory budget: weights + KV cache at the configured utilization, against real card sizes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MODELS = Path(__file__).with_name("models.yaml")
GIB = 2.0**30


@dataclass
class Budget:
    card_gib: float
    usable_gib: float
    weights_gib: float
    overhead_gib: float
    kv_cache_gib: float
    kv_bytes_per_token: int
    kv_tokens: int
    max_model_len: int

    @property
    def fits(self) -> bool:
        """Weights load and at least one full-length sequence fits in the KV cache."""
        return self.kv_tokens >= self.max_model_len

    @property
    def concurrent_full_sequences(self) -> int:
        return max(0, self.kv_tokens // self.max_model_len)


def budget(
    model: str, utilization: float, max_model_len: int, card_gib: float, facts: dict[str, Any] | None = None
) -> Budget:
    facts = facts or yaml.safe_load(MODELS.read_text())
    m = facts[model]
    weights = m["parameters"] * m["bytes_per_param"] / GIB
    kv_per_token = 2 * m["layers"] * m["kv_heads"] * m["head_dim"] * m["bytes_per_param"]  # K and V
    usable = card_gib * utilization
    kv_gib = max(0.0, usable - weights - facts["overhead_gib"])
    return Budget(
        card_gib=card_gib,
        usable_gib=usable,
        weights_gib=weights,
        overhead_gib=facts["overhead_gib"],
        kv_cache_gib=kv_gib,
        kv_bytes_per_token=kv_per_token,
        kv_tokens=int(kv_gib * GIB // kv_per_token),
        max_model_len=max_model_len,
    )
