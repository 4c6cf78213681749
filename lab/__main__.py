"""``python -m lab run --stack dev [--stack gpu] [--stack cluster] [--report lab-report.json] [--keep]``.

Every named stack runs on ONE cluster (``lab/session.py``): ``KUBECONFIG``'s when set (your own
cluster), otherwise the simulated cluster from ``../shared/toolchain``, started once and stopped by
PID at the end. The Pulumi CLI comes from the offline toolchain (``~/.cache/pulumi-offline``),
built on first use through ``python -m tools.toolchain``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from lab.runner import ROOT, Cluster, pulumi_env
from lab.session import Session

STACKS = ("dev", "gpu", "cluster")


def corpus(report_path: Path, only: str) -> int:
    """The policy corpus's real-CLI subset on its own (lab/corpus.py), on a simulated cluster of its own."""
    from lab.corpus import run_corpus_subset
    from offline.corpus import summary_line

    env = dict(os.environ)
    cluster = Cluster(env)
    result: dict[str, Any] = {"ok": False, "error": "not run"}
    try:
        workdir = Path(tempfile.mkdtemp(prefix="lab-corpus-"))
        pulumi_env(env, workdir)
        cluster.start()
        result = run_corpus_subset(env, workdir, print, only=only)
    except RuntimeError as exc:
        result = {"ok": False, "error": str(exc)[-3000:]}
    finally:
        cluster.stop()
    report_path.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(summary_line(result, "real CLI") if "results" in result else f"lab corpus: {result['error']}")
    return 0 if result["ok"] else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("run")
    cmd.add_argument("--stack", required=True, action="append", choices=STACKS, help="repeat for several stacks")
    cmd.add_argument("--report", type=Path, default=ROOT / "lab-report.json")
    cmd.add_argument("--keep", action="store_true", help="leave the stacks and cluster up for inspection")
    cmd.add_argument(
        "--mistakes",
        choices=["auto", "on", "off"],
        default="auto",
        help="preview program mistakes the CLI and API server must refuse (auto: on dev; cluster: its Karpenter one)",
    )
    cmd.add_argument(
        "--cycle",
        choices=["auto", "none", *STACKS],
        default="auto",
        help="the stack that runs destroy -> up again -> destroy (auto: gpu if in the run, else the first but cluster)",
)
    cmd.add_argument("--parallel", type=int, help="pulumi --parallel for preview/up/destroy (CLI default: 4 x cores)")
    cor = sub.add_parser("corpus", help="the policy corpus's real-CLI subset: pulumi preview --policy-pack per case")
    cor.add_argument("--report", type=Path, default=ROOT / "lab-corpus.json")
    cor.add_argument("-k", dest="only", default="", help="only cases whose name contains this")
    args = parser.parse_args(argv)
    if args.command == "corpus":
        return corpus(args.report, args.only)
    stacks = list(dict.fromkeys(args.stack))
    if args.cycle not in ("auto", "none") and args.cycle not in stacks:
        parser.error(f"--cycle {args.cycle}: that stack is not in the run ({', '.join(stacks)})")
    session = Session(stacks, cycle=args.cycle, mistakes=args.mistakes, keep=args.keep, parallel=args.parallel)
    session.run()
    session.write(args.report)
    session.print_summary()
    return 0 if session.ok else 1


if __name__ == "__main__":
    sys.exit(main())
