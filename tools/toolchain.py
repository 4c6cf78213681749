"""Build the Go toolchains once, on one shared Go module and build cache, with a heartbeat.

``python -m tools.toolchain [pulumi] [k8s-sim] [otelcol] [keda]`` (all when none is named). The
Pulumi CLI and providers, the simulated Kubernetes control plane, the OpenTelemetry Collector and
the KEDA operator (the cluster lab runs it) are built from the Go module proxy; a cold build takes
many minutes, a warm one seconds. Every step prints what it builds and how long it has run at least
every ``HEARTBEAT`` seconds, and a failed step names itself and keeps its log.

The shared cache is the Pulumi build's (its ``setup.sh`` fixes ``GOMODCACHE``/``GOCACHE`` under
``$PULUMI_BUILD_CACHE``), so the other builds reuse every module it fetched.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from tools.paths import pulumi_cache, shared_dir, tool_cache

HEARTBEAT = 30.0
STEPS = ("pulumi", "k8s-sim", "otelcol", "keda")


GO_GC_PERCENT = "400"
"""The compiler's GOGC for every build: a cold ``go install`` of kwok took 150 s wall and 241 s user CPU
at 400 against 175 s and 291 s at Go's default of 100, for 9 % more peak memory (2026-12-02, 2 cores)."""


def go_caches() -> dict[str, str]:
    """The module and build cache every build shares, and the compiler's GOGC (a set GOGC wins)."""
    root = pulumi_cache()
    return {
        "GOMODCACHE": str(root / "gomod"),
        "GOCACHE": str(root / "gobuild"),
        "GOGC": os.environ.get("GOGC") or GO_GC_PERCENT,
    }


def step_command(step: str) -> list[str]:
    toolchain = shared_dir() / "toolchain"
    if step == "pulumi":
        return ["bash", str(toolchain / "pulumi" / "setup.sh")]
    if step == "k8s-sim":
        return ["bash", str(toolchain / "k8s-sim" / "setup.sh")]
    if step == "keda":
        return [sys.executable, "-m", "tools.build_keda"]
    return [sys.executable, "-m", "tools.build_collector", "--no-check"]


def _progress(log: Path) -> str:
    """What the build is on: the setup script's current ``=== step`` header and the log's last line."""
    try:
        with log.open("rb") as handle:
            handle.seek(max(0, log.stat().st_size - 20000))
            lines = handle.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return ""
    if not lines:
        return ""
    steps = [line[4:].strip() for line in lines if line.startswith("=== ")]
    last = lines[-1][:160]
    return f"step {steps[-1]}; last: {last}" if steps and not last.startswith("=== ") else f"last: {last}"


def run_step(step: str, logs: Path) -> tuple[int, float]:
    """Run one build with its output in a log; print a heartbeat until it ends."""
    log = logs / f"{step}.log"
    started = time.monotonic()
    env = {**os.environ, **go_caches()}
    print(f"[toolchain] {step}: starting (log {log})", flush=True)
    with log.open("w") as out:
        process = subprocess.Popen(step_command(step), stdout=out, stderr=subprocess.STDOUT, env=env)
        done = threading.Event()

        def beat() -> None:
            while not done.wait(HEARTBEAT):
                elapsed = time.monotonic() - started
                print(f"[toolchain] {step}: building, {elapsed / 60:.1f} min; {_progress(log)}", flush=True)

        threading.Thread(target=beat, daemon=True).start()
        code = process.wait()
        done.set()
    return code, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("steps", nargs="*", help=f"which builds, of {', '.join(STEPS)} (default: all)")
    args = parser.parse_args(argv)
    if unknown := [s for s in args.steps if s not in STEPS]:
        parser.error(f"unknown step {unknown[0]!r}: choose from {', '.join(STEPS)}")
    logs = tool_cache() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for step in args.steps or STEPS:
        code, seconds = run_step(step, logs)
        if code != 0:
            print(f"[toolchain] {step}: FAILED (exit {code}) after {seconds:.0f} s; log kept: {logs / (step + '.log')}")
            return 1
        print(f"[toolchain] {step}: ready in {seconds:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
