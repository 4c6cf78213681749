"""``python bench/run.py``: plan speed, deploy critical path, footprint; one summary line last.

Every figure is measured on the machine running it (speed) or computed from the program's real
plan (critical path, footprint) with the stated tables in ``bench/*.yaml``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.critical_path import critical_path  # noqa: E402
from bench.gpu_budget import budget  # noqa: E402
from bench.plan_speed import measure, whole_process  # noqa: E402
from bench.scaling import measure_scaling  # noqa: E402
from offline.footprint import K3S_RESERVED_GIB, by_node_pool, describe, footprint, gib  # noqa: E402
from offline.preview import preview, top_component  # noqa: E402

CLUSTER_GPU_OWNERS = {"gpu", "vllm", "sglang"}
"""Components of the cluster stack that run on the GPU pool (Dcgm, the engines)."""


def machine() -> str:
    cpus = os.cpu_count()
    with open("/proc/meminfo") as handle:
        mem_kib = int(handle.readline().split()[1])
    return f"{platform.machine()} {cpus} cores {mem_kib / 2**20:.0f} GiB, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="runs per stack for the median")
    args = parser.parse_args(argv)
    print(f"machine: {machine()}")
    summary: list[str] = []

    print("\n== 1. Plan speed (offline preview, median of fresh processes)")
    offline_seconds: dict[str, float] = {}
    for stack in ("dev", "gpu"):
        whole = whole_process(stack, args.runs)
        s = measure(stack, args.runs)
        offline_seconds[stack] = whole.median_s
        print(
            f"  {stack}: whole process {whole.median_s:.2f} s (`python -m offline preview --stack {stack} --out DIR`, "
            f"interpreter start to exit, outputs written; min {whole.min_s:.2f}, max {whole.max_s:.2f}, "
            f"n={whole.runs}, load average {whole.load_before:.2f} at the start); CPU {whole.cpu_median_s:.2f} s; "
            + ("project bytecode cached" if whole.bytecode_cached else
               "project bytecode NOT cached (PYTHONDONTWRITEBYTECODE?): each run compiled the project's modules")
        )
        print(
            f"  {stack}: in-process phases {s.total_s:.2f} s = import {s.import_s:.2f} + program {s.program_s:.2f} "
            f"+ checks {s.checks_s:.2f}; {s.resources} resources ({1000 * s.program_s / s.resources:.1f} ms each); "
            f"peak RSS {s.peak_rss_mib:.0f} MiB (n={s.runs})"
        )
        summary.append(f"{stack}_preview_process={whole.median_s:.2f}s")
        summary.append(f"{stack}_preview_process_cpu={whole.cpu_median_s:.2f}s")
        summary.append(f"{stack}_preview_phases={s.total_s:.2f}s")
    target = offline_seconds["gpu"] <= 3.0
    print(
        f"  gpu whole-process target <= 3 s: {'met' if target else 'NOT met'} ({offline_seconds['gpu']:.2f} s wall; "
        f"load average {os.getloadavg()[0]:.2f} now: on a busy machine the CPU seconds say more)"
    )
    scaling = measure_scaling(runs=max(1, args.runs // 2))
    for models, s in scaling.points:
        print(
            f"  gpu serving {models:>2} models: {s.resources} resources, program {s.program_s:.2f} s "
            f"({1000 * s.program_s / s.resources:.1f} ms each), checks {s.checks_s:.2f} s, "
            f"peak RSS {s.peak_rss_mib:.0f} MiB"
        )
    per_resource = 1000 * scaling.seconds_per_resource
    print(f"  growth: {per_resource:.1f} ms of program time per added resource (least-squares slope)")
    summary.append(f"ms_per_resource={per_resource:.1f}")

    print("\n== 2. Deploy critical path (readiness table: bench/readiness.yaml)")
    plans = {}
    for stack in ("dev", "gpu", "cluster"):
        plan, code = preview(stack, stream=io.StringIO())
        if plan is None:
            raise SystemExit(f"offline preview of {stack} failed (exit {code})")
        plans[stack] = plan
        document = json.loads(plan.dumps())
        cp = critical_path(document)
        full = critical_path(document, with_excluded=True)
        chain = " -> ".join(f"{name} ({sec:.0f}s)" for name, sec in cp.chain if sec >= 1)
        phases = " + ".join(f"{name} {sec:.0f}" for name, sec in cp.sequential_phases)
        print(f"  {stack}: {cp.waves} waves; critical path {cp.seconds:.0f} s: {chain}")
        print(f"  {stack}: with the post-deploy verification: {full.seconds:.0f} s")
        print(f"  {stack}: runbook, strictly sequential: {cp.sequential_seconds:.0f} s = {phases}")
        print(f"  {stack}: ratio {cp.ratio:.2f} (target <= 0.50)")
        summary.append(f"{stack}_deploy_est={cp.seconds:.0f}s(ratio {cp.ratio:.2f})")

    print("\n== 3. Footprint (requests / limits from the plan)")
    for stack, plan in plans.items():
        fp = footprint(plan, top_component)
        print(f"  -- {stack}")
        for line in describe(fp):
            print(f"  {line}")
        if stack == "cluster":
            for pool, t in by_node_pool(fp, CLUSTER_GPU_OWNERS).items():
                print(
                    f"  cluster {pool} pool: cpu {t.cpu_requests:.2f} / {t.cpu_limits:.2f} cores, memory "
                    f"{gib(t.memory_requests)} / {gib(t.memory_limits)} (requests / limits; autoscalers at minimum)"
                )
                summary.append(f"cluster_{pool}_pool_mem_req={t.memory_requests / 2**30:.1f}GiB")
            continue
        for node_gib in (12, 16):
            room = node_gib - K3S_RESERVED_GIB
            verdict = "fits" if fp.total.memory_requests / 2**30 <= room else "does NOT fit"
            print(
                f"  {stack}: requests {gib(fp.total.memory_requests)} vs {node_gib} GiB node - k3s "
                f"{K3S_RESERVED_GIB} GiB = {room:.1f} GiB: {verdict}"
            )
        summary.append(f"{stack}_mem_req={fp.total.memory_requests / 2**30:.1f}GiB")

    print("\n== GPU memory budget (bench/models.yaml)")
    from config import StackConfig

    vllm = StackConfig().vllm
    for card in (8, 16):
        b = budget(vllm.model, vllm.gpu_memory_utilization, vllm.max_model_len, card)
        print(
            f"  {vllm.model} on {card} GiB at {vllm.gpu_memory_utilization}: usable {b.usable_gib:.1f} GiB = "
            f"weights {b.weights_gib:.2f} + overhead {b.overhead_gib:.1f} + KV cache {b.kv_cache_gib:.2f} GiB "
            f"({b.kv_bytes_per_token} B/token -> {b.kv_tokens} tokens, {b.concurrent_full_sequences} "
            f"full {b.max_model_len}-token sequences): {'fits' if b.fits else 'does NOT fit'}"
        )
        summary.append(f"kv_tokens_{card}g={b.kv_tokens}")

    lab = ROOT / "lab-report.json"
    if lab.exists():
        print(
            "\n== Lab: real pulumi on the simulated cluster (lab-report.json of `make lab`) beside the offline preview"
        )
        report = json.loads(lab.read_text())
        runs = report.get("stacks", [report]) if isinstance(report, dict) else report  # one cluster, or older
        for run in runs:
            stack = str(run.get("stack"))
            phases = ", ".join(f"{p['name']} {p['seconds']:.0f}s" for p in run.get("phaseResults", []))
            verdict = "ok" if run.get("ok") else "FAILED"
            print(
                f"  {stack}: offline preview {offline_seconds.get(stack, 0):.2f}s | lab ({verdict}, "
                f"{run.get('resources')} resources): {phases}"
            )
            if "up" in run.get("phases", {}):
                summary.append(f"lab_{stack}_up={run['phases']['up']:.0f}s")
    else:
        print("\n== Lab: no lab-report.json here (run `make lab STACK=dev` to add real-CLI seconds per phase)")

    print("\nsummary: " + " ".join(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
