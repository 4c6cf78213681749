"""How plan time grows with work: the gpu platform serving 1, 5, 20 or 50 models.

The program below is the real ``__main__.py`` plus one more ``VllmServer`` per extra model, each
in its own namespace and wired from the platform's own outputs (collector endpoints, monitoring
CRDs, the GPU operator parts) exactly as the first one is. Time per resource is the slope of
program time over resource count, so the fixed cost of imports and the platform does not hide it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.plan_speed import ROOT, Speed, measure

MODELS = (1, 5, 20, 50)

PROGRAM = """
import runpy

from components.contracts import NamespaceRef
from components.vllm_server import VllmServer, VllmServerArgs

platform = runpy.run_path({main!r})
cfg = platform["cfg"]
for i in range(1, {models}):
    served = cfg.vllm.model_copy(update={{"served_model_name": f"model-{{i}}"}})
    VllmServer(
        f"vllm-{{i}}",
        VllmServerArgs(
            settings=served, image=cfg.versions.image("vllm"), namespace=NamespaceRef.existing(f"llm-{{i}}"),
            gpu=platform["gpu"].runtime, tracing=platform["tracing"].endpoints,
            monitoring_crds=platform["monitoring"].crds, retain_cache=cfg.storage.retain_on_destroy,
            hf_token=platform["secrets"].get("hfToken"),
        ),
        platform["ready_in"]("llm"),
    )
"""


@dataclass
class Scaling:
    points: list[tuple[int, Speed]]
    """(served models, speed) for each knob value."""

    @property
    def seconds_per_resource(self) -> float:
        """Least-squares slope of program seconds over resources."""
        xs = [float(s.resources) for _, s in self.points]
        ys = [s.program_s for _, s in self.points]
        return slope(xs, ys)


def slope(xs: list[float], ys: list[float]) -> float:
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread if spread else 0.0


def measure_scaling(models: tuple[int, ...] = MODELS, runs: int = 3) -> Scaling:
    points = []
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as tmp:
        for count in models:
            program = Path(tmp) / f"models_{count}.py"
            program.write_text(PROGRAM.format(main=str(ROOT / "__main__.py"), models=count))
            points.append((count, measure("gpu", runs, program=program)))
    return Scaling(points)
