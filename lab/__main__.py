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

from lab.checks import after_destroy, after_up, claims, event_log, kubectl_get, rebound
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

    get = kubectl_get(lab.kubectl)  # raises instead of answering "nothing" when the API server cannot be read
    listeners = ListenerWatch()

    def up(name: str) -> bool:
        command = ("up", "--yes", "--skip-preview", "--event-log", str(event_log(lab.workdir, name)))
        if not lab.started_cluster:  # a real cluster's webhooks answer: leave them alone
            with listeners:
                return lab.phase(name, *command)
        with WebhookRelaxer(lab.kubectl) as relaxer, listeners:
            ok = lab.phase(name, *command)
        lab.report.relaxed_webhooks = sorted({*lab.report.relaxed_webhooks, *relaxer.relaxed})
        return ok

    if not lab.phase("preview-policy", "preview", "--policy-pack", str(lab.project / "policies"), "--diff"):
        return
    if not up("up"):
        lab.phase("destroy", "destroy", "--yes", "--skip-preview")
        return
    lab.report.resources = lab.count_resources()
    events = event_log(lab.workdir, "up")  # the engine's numbered events: the apply order of CRDs and istiod
    lab.report.checks = [*after_up(get, gpu=lab.stack == "gpu", events=events), listeners.check()]
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
    args = parser.parse_args(argv)
    return run(
        args.stack,
        args.report,
        args.keep,
        mistakes=args.mistakes == "on" or (args.mistakes == "auto" and args.stack == "dev"),
    )


if __name__ == "__main__":
    sys.exit(main())
