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
from typing import Any

from lab.checks import after_destroy, after_up, claims, rebound
from lab.listeners import ListenerWatch
from lab.mistakes import AFTER_DESTROY, WHILE_UP
from lab.runner import ROOT, Lab
from lab.webhooks import WebhookRelaxer


def run(stack: str, report_path: Path, keep: bool, mistakes: bool) -> int:
    lab = Lab(stack)
    try:
        lab.ensure_pulumi()
        lab.ensure_cluster()
        lab.prepare_project()
        phases(lab, keep, mistakes)
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
    if lab.report.relaxed_webhooks:
        print(f"  lab set failurePolicy=Ignore on: {', '.join(lab.report.relaxed_webhooks)}")
    print(lab.report.summary())
    return 0 if lab.report.ok else 1


def phases(lab: Lab, keep: bool, mistakes: bool) -> None:
    """preview with policies -> up -> checks -> no-change preview -> destroy -> retained claims -> up again."""

    def get(kind: str) -> dict[str, Any]:
        return lab.kubectl_json("get", kind, "-A")

    listeners = ListenerWatch()

    def up(name: str) -> bool:
        if not lab.started_cluster:  # a real cluster's webhooks answer: leave them alone
            with listeners:
                return lab.phase(name, "up", "--yes", "--skip-preview")
        with WebhookRelaxer(lab.kubectl) as relaxer, listeners:
            ok = lab.phase(name, "up", "--yes", "--skip-preview")
        lab.report.relaxed_webhooks = sorted({*lab.report.relaxed_webhooks, *relaxer.relaxed})
        return ok

    if not lab.phase("preview-policy", "preview", "--policy-pack", str(lab.project / "policies"), "--diff"):
        return
    if not up("up"):
        lab.phase("destroy", "destroy", "--yes", "--skip-preview")
        return
    lab.report.resources = lab.count_resources()
    lab.report.checks = [*after_up(get, gpu=lab.stack == "gpu"), listeners.check()]
    lab.phase("preview-no-changes", "preview", "--expect-no-changes", "--diff")
    if mistakes:
        for mistake in WHILE_UP:
            lab.mistake(mistake)
    if keep:
        return
    before = claims(get)
    if not lab.phase("destroy", "destroy", "--yes", "--skip-preview"):
        return
    lab.report.checks += after_destroy(get, before)
    if up("up-again"):
        lab.report.checks.append(rebound(get, before))
    if lab.phase("destroy-again", "destroy", "--yes", "--skip-preview") and mistakes:
        for mistake in AFTER_DESTROY:
            lab.mistake(mistake)


def corpus(report_path: Path, only: str) -> int:
    """The policy corpus's real-CLI subset on its own (lab/corpus.py), on the lab's cluster."""
    from lab.corpus import run_corpus_subset
    from offline.corpus import summary_line

    lab = Lab("corpus")
    result: dict[str, Any] = {"ok": False, "error": "not run"}
    try:
        lab.ensure_pulumi()
        lab.ensure_cluster()
        result = run_corpus_subset(lab.env, lab.workdir, lab.log, only=only)
    except RuntimeError as exc:
        result = {"ok": False, "error": str(exc)[-3000:]}
    finally:
        lab.teardown()
    report_path.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(summary_line(result, "real CLI") if "results" in result else f"lab corpus: {result['error']}")
    return 0 if result["ok"] else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("run")
    cmd.add_argument("--stack", required=True, choices=["dev", "gpu"])
    cmd.add_argument("--report", type=Path, default=ROOT / "lab-report.json")
    cmd.add_argument("--keep", action="store_true", help="leave the stack and cluster up for inspection")
    cmd.add_argument(
        "--mistakes",
        choices=["auto", "on", "off"],
        default="auto",
        help="preview program mistakes the CLI and API server must refuse (auto: on the dev stack)",
    )
    cor = sub.add_parser("corpus", help="the policy corpus's real-CLI subset: pulumi preview --policy-pack per case")
    cor.add_argument("--report", type=Path, default=ROOT / "lab-corpus.json")
    cor.add_argument("-k", dest="only", default="", help="only cases whose name contains this")
    args = parser.parse_args(argv)
    if args.command == "corpus":
        return corpus(args.report, args.only)
    return run(
        args.stack,
        args.report,
        args.keep,
        mistakes=args.mistakes == "on" or (args.mistakes == "auto" and args.stack == "dev"),
    )


if __name__ == "__main__":
    sys.exit(main())
