"""Plan speed: wall time and peak memory of the offline preview, each run in a fresh process.

Two views of the same preview: the in-process phases (imports, program, checks: what to optimise)
and the whole process a user waits for (``python -m offline preview --stack S --out DIR`` from
interpreter start to exit, plan.json and manifests written).
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_ONE_RUN = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
t0 = time.perf_counter()
from offline.runner import run_program
from offline.checks import run_checks
from offline import policy_bridge
t1 = time.perf_counter()
plan = run_program({stack!r}, {overrides!r}, {program})
t2 = time.perf_counter()
findings = run_checks(plan) + policy_bridge.evaluate(plan)
t3 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "program": t2 - t1, "checks": t3 - t2, "resources": len(plan.resources),
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


@dataclass
class Speed:
    stack: str
    runs: int
    resources: int
    import_s: float
    program_s: float
    checks_s: float
    peak_rss_mib: float

    @property
    def total_s(self) -> float:
        return self.import_s + self.program_s + self.checks_s


def one_run(stack: str, overrides: dict[str, str] | None = None, program: Path | None = None) -> dict[str, float]:
    target = f"Path({str(program)!r})" if program else "None"
    code = _ONE_RUN.format(root=str(ROOT), stack=stack, overrides=overrides or {}, program=target)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"preview of {stack} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(stack: str, runs: int = 5, overrides: dict[str, str] | None = None, program: Path | None = None) -> Speed:
    samples = [one_run(stack, overrides, program) for _ in range(runs)]

    def median(key: str) -> float:
        return statistics.median(s[key] for s in samples)

    return Speed(
        stack,
        runs,
        int(samples[0]["resources"]),
        median("import"),
        median("program"),
        median("checks"),
        max(s["peak_rss_mib"] for s in samples),
    )


@dataclass
class Process:
    stack: str
    runs: int
    median_s: float
    min_s: float
    max_s: float
    load_before: float
    """The 1-minute load average when the runs started (the machine may be shared)."""
    cpu_median_s: float
    """User + system CPU seconds of the process: what its wall time is on an idle machine (the preview
    runs on one thread), and far less sensitive than wall time to other work on a shared machine."""
    bytecode_cached: bool
    """Whether the project's modules loaded from cached bytecode, as on a user's second run; without it
    (``PYTHONDONTWRITEBYTECODE`` and no ``__pycache__``) every run compiles them first."""


def bytecode_cached() -> bool:
    """The preview's own module has bytecode no older than its source (what the runs could load)."""
    source = ROOT / "offline" / "preview.py"
    cached = Path(importlib.util.cache_from_source(str(source)))
    return cached.exists() and cached.stat().st_mtime >= source.stat().st_mtime


def whole_process(stack: str, runs: int = 5) -> Process:
    """Median wall time of ``runs`` fresh ``python -m offline preview`` processes, outputs written."""
    load = os.getloadavg()[0]
    samples, cpu = [], []
    with tempfile.TemporaryDirectory(prefix="bench-preview-") as out:
        plan = Path(out) / "plan.json"
        for _ in range(runs):
            plan.unlink(missing_ok=True)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "offline", "preview", "--stack", stack, "--out", out],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            samples.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            if done.returncode not in (0, 1) or not plan.exists():  # 1: mandatory findings, outputs written
                raise RuntimeError(f"offline preview of {stack} failed ({done.returncode}):\n{done.stdout[-2000:]}")
    return Process(
        stack, runs, statistics.median(samples), min(samples), max(samples), load, statistics.median(cpu),
        bytecode_cached(),
    )
