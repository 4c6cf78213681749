"""``python -m lab run --stack dev|gpu [--report lab-report.json] [--keep]``.

Uses ``KUBECONFIG`` when set (your own cluster); otherwise builds and starts the simulated
cluster from ``../shared/toolchain`` and stops it by PID afterwards. The Pulumi CLI comes from
the offline toolchain (``~/.cache/pulumi-offline``), built on first use.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lab.checks import after_up
from lab.runner import ROOT, Lab


def run(stack: str, report_path: Path, keep: bool) -> int:
    lab = Lab(stack)
    try:
        lab.ensure_pulumi()
        lab.ensure_cluster()
        lab.prepare_project()
        if lab.phase("preview-policy", "preview", "--policy-pack", str(lab.project / "policies"), "--diff"):
            if lab.phase("up", "up", "--yes", "--skip-preview"):
                lab.report.resources = lab.count_resources()

                def get(kind: str) -> dict:
                    return lab.kubectl_json("get", kind, "-A")

                lab.report.checks = after_up(get, gpu=stack == "gpu")
                lab.phase("preview-no-changes", "preview", "--expect-no-changes")
            if not keep:
                lab.phase("destroy", "destroy", "--yes", "--skip-preview")
    except RuntimeError as exc:
        lab.report.checks.append({"name": "lab-setup", "ok": False, "message": str(exc)[-3000:]})
    finally:
        if not keep:
            lab.teardown()
    existing = json.loads(report_path.read_text()) if report_path.exists() else []
    runs = [r for r in (existing if isinstance(existing, list) else [existing]) if r.get("stack") != stack]
    report_path.write_text(json.dumps([*runs, lab.report.to_json()], indent=2, sort_keys=True) + "\n")
    for check in lab.report.checks:
        print(f"  {'ok  ' if check['ok'] else 'FAIL'} {check['name']}: {check['message']}")
    print(lab.report.summary())
    return 0 if lab.report.ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("run")
    cmd.add_argument("--stack", required=True, choices=["dev", "gpu"])
    cmd.add_argument("--report", type=Path, default=ROOT / "lab-report.json")
    cmd.add_argument("--keep", action="store_true", help="leave the stack and cluster up for inspection")
    args = parser.parse_args(argv)
    return run(args.stack, args.report, args.keep)


if __name__ == "__main__":
    sys.exit(main())
