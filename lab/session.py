"""One lab run: every stack on ONE simulated cluster, reset between stacks.

Order of a run (``python -m lab run --stack dev --stack gpu``):

1. the Pulumi CLI and the cluster (``tools.toolchain``; seconds when built), one cluster start;
2. every stack's scratch project, then ``pulumi preview --policy-pack`` of all stacks at once
   (they only read the empty cluster, so two cores run them side by side);
3. the real-CLI policy corpus subset (issue 17's ``lab/corpus.py``), once, on the same cluster;
4. stack by stack: ``up`` -> checks -> no-change preview -> mistakes (dev) -> ``destroy`` ->
   retained claims; on the cycle stack only (gpu when present: Langfuse's credentials and data
   are what retention matters most for) ``up`` again -> claims reused -> ``destroy`` again;
   then the reset: nothing of the stack left but what it retains, that deleted by name, and the
   cluster checked clean before the next stack;
5. the cluster stopped by PID.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from lab import reset
from lab.checks import after_destroy, after_up, claims, event_log, kubectl_get, rebound
from lab.listeners import ListenerWatch
from lab.mistakes import AFTER_DESTROY, WHILE_UP
from lab.runner import Cluster, Lab, Phase, pulumi_env
from lab.webhooks import WebhookRelaxer


def cycle_stack(stacks: list[str], choice: str) -> str | None:
    """The stack that runs destroy -> up again -> destroy: ``auto`` = gpu if in the run, else the first."""
    if choice == "none":
        return None
    if choice == "auto":
        return "gpu" if "gpu" in stacks else stacks[0]
    return choice


def corpus(env: dict[str, str], workdir: Path, log) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """HOOK (issue 17): the real-CLI policy corpus subset, once per run on the shared cluster.

    ``lab/corpus.py`` exposes ``run_corpus_subset(env, workdir, log) -> dict`` (its counts go into
    lab-report.json as they are). Until that module is on the branch the run says it was skipped.
    """
    if importlib.util.find_spec("lab.corpus") is None:
        return {"skipped": "lab/corpus.py is not on this branch (issue 17)"}
    module = importlib.import_module("lab.corpus")
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        return dict(module.run_corpus_subset(env, workdir, log))
    except Exception as exc:  # a corpus that cannot run fails the run, with the reason
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[-2000:]}


class Session:
    def __init__(
        self,
        stacks: list[str],
        *,
        cycle: str = "auto",
        mistakes: str = "auto",
        keep: bool = False,
        parallel: int | None = None,
        log=print,  # type: ignore[no-untyped-def]
    ) -> None:
        self.stacks = stacks
        self.cycle = cycle_stack(stacks, cycle)
        self.mistakes = {s: mistakes == "on" or (mistakes == "auto" and s == "dev") for s in stacks}
        self.keep = keep
        self.parallel = parallel
        self.log = log
        self.workdir = Path(tempfile.mkdtemp(prefix="lab-"))
        self.env = dict(os.environ)
        self.cluster = Cluster(self.env, log)
        self.labs: dict[str, Lab] = {}
        self.seconds: dict[str, float] = {}
        self.checks: list[dict[str, Any]] = []
        self.corpus: dict[str, Any] = {}

    def timed(self, name: str, action) -> Any:  # type: ignore[no-untyped-def]
        start = time.monotonic()
        try:
            return action()
        finally:
            self.seconds[name] = round(time.monotonic() - start, 1)
            self.log(f"lab: {name} took {self.seconds[name]:.0f}s")

    def run(self) -> None:
        started = time.monotonic()
        try:
            self.timed("toolchain", lambda: pulumi_env(self.env, self.log))
            self.timed("cluster-up", self.cluster.start)
            for stack in self.stacks:
                lab = Lab(
                    stack, self.workdir / stack, self.log, self.env, self.parallel, started_cluster=self.cluster.started
                )
                self.labs[stack] = lab
            self.timed("prepare-projects", lambda: [lab.prepare_project() for lab in self.labs.values()])
            previewed = self.timed("preview-policy-all-stacks", self.previews)
            self.corpus = self.timed("corpus", lambda: corpus(self.env, self.workdir / "corpus", self.log))
            clean = True
            for i, stack in enumerate(self.stacks):
                if not clean:
                    self.checks.append(_not_run(stack, "the stack before it did not leave the cluster clean"))
                elif previewed[stack]:
                    last = i == len(self.stacks) - 1
                    clean = self.timed(f"stack-{stack}", lambda s=stack, last=last: self.stack(self.labs[s], not last))
        except RuntimeError as exc:
            self.checks.append({"name": "lab-setup", "ok": False, "message": str(exc)[-3000:]})
        finally:
            if not self.keep:
                stopped = self.cluster.stop()
                if stopped:
                    self.checks.append(stopped)
            self.seconds["total"] = round(time.monotonic() - started, 1)

    def previews(self) -> dict[str, bool]:
        """``pulumi preview --policy-pack`` of every stack at once: they only read the empty cluster."""

        def one(lab: Lab) -> bool:
            return lab.phase("preview-policy", "preview", "--policy-pack", str(lab.project / "policies"), "--diff")

        with ThreadPoolExecutor(max_workers=len(self.labs)) as pool:
            return dict(zip(self.labs, pool.map(one, self.labs.values()), strict=True))

    def stack(self, lab: Lab, clean: bool) -> bool:
        """up -> checks -> no-change preview -> mistakes -> destroy [-> up again -> destroy] -> reset.

        True when the cluster is left clean for the next stack.
        """

        get = kubectl_get(lab.kubectl)  # raises instead of answering "nothing" when the API server cannot be read

        listeners = ListenerWatch()
        objects: tuple[list[reset.KubeObject], list[str]] = ([], [])

        def up(name: str) -> bool:
            command = ("up", "--yes", "--skip-preview")
            events = event_log(lab.workdir, name)  # `--json`: the engine's events, numbered in emit order
            if not lab.started_cluster:  # a real cluster's webhooks answer: leave them alone
                with listeners:
                    return lab.phase(name, *command, events=events)
            with WebhookRelaxer(lab.kubectl) as relaxer, listeners:
                ok = lab.phase(name, *command, events=events)
            lab.report.relaxed_webhooks = sorted({*lab.report.relaxed_webhooks, *relaxer.relaxed})
            return ok

        def destroy(name: str) -> bool:
            nonlocal objects
            objects = reset.stack_objects(lab.export())  # what the stack made, before its state is gone
            return lab.phase(name, "destroy", "--yes", "--skip-preview")

        mistakes = self.mistakes[lab.stack]
        if not up("up"):
            destroy("destroy")
            return self.reset(lab, objects, clean)
        lab.report.resources = lab.count_resources()
        events = event_log(lab.workdir, "up")  # the engine's numbered events: the apply order of CRDs and istiod
        lab.report.checks = [*after_up(get, gpu=lab.stack == "gpu", events=events), listeners.check()]
        lab.phase("preview-no-changes", "preview", "--expect-no-changes", "--diff")
        if mistakes:
            for mistake in WHILE_UP:
                lab.mistake(mistake)
        if self.keep:
            return False
        before = claims(get)
        if not destroy("destroy"):
            return False
        lab.report.checks += after_destroy(get, before)
        if lab.stack == self.cycle:
            if up("up-again"):
                lab.report.checks.append(rebound(get, before))
            if not destroy("destroy-again"):
                return False
        if mistakes:  # need a cluster without the Gateway API CRDs
            for mistake in AFTER_DESTROY:
                lab.mistake(mistake)
        return self.reset(lab, objects, clean)

    def reset(self, lab: Lab, objects: tuple[list[reset.KubeObject], list[str]], clean: bool) -> bool:
        """Nothing of the stack but what it retains; before another stack, that deleted and re-checked."""
        start = time.monotonic()
        lab.report.checks.append(reset.only_retained_left(lab.kubectl, *objects))
        if clean and not self.cluster.started:  # your own cluster: its retained data is yours to delete
            lab.report.cleaned = ["nothing: the cluster of KUBECONFIG keeps what retention kept"]
        elif clean:
            lab.report.cleaned = reset.clean_retained(lab.kubectl, objects[0])
            self.log(f"lab: {lab.stack}: deleted what retention kept: {lab.report.cleaned}")
            lab.report.checks.append(reset.cluster_clean(lab.kubectl, objects[0]))
        lab.report.phases.append(Phase("reset", time.monotonic() - start, True))
        return all(c["ok"] for c in lab.report.checks if c["name"].startswith("reset-"))

    @property
    def ok(self) -> bool:
        corpus_ok = self.corpus.get("ok", True) is not False
        stacks_ok = len(self.labs) == len(self.stacks) and all(lab.report.ok for lab in self.labs.values())
        return stacks_ok and corpus_ok and all(c["ok"] for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "stacks": [lab.report.to_json() for lab in self.labs.values()],
            "cycleStack": self.cycle,
            "seconds": self.seconds,
            "checks": self.checks,
            "corpus": self.corpus,
            "parallel": self.parallel,
            "scratch": str(self.workdir),
        }

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")

    def print_summary(self) -> None:
        for lab in self.labs.values():
            for check in lab.report.checks:
                print(f"  {'ok  ' if check['ok'] else 'FAIL'} {lab.stack} {check['name']}: {check['message']}")
            if lab.report.relaxed_webhooks:
                print(f"  {lab.stack}: lab set failurePolicy=Ignore on: {', '.join(lab.report.relaxed_webhooks)}")
        for check in self.checks:
            print(f"  {'ok  ' if check['ok'] else 'FAIL'} {check['name']}: {check['message']}")
        print(f"  corpus: {self.corpus}")
        for lab in self.labs.values():
            print(lab.report.summary())
        seconds = " ".join(f"{k}={v:.0f}s" for k, v in self.seconds.items())
        print(
            f"lab: {len(self.labs)} stack(s) on one cluster, cycle on {self.cycle}: {seconds} -> "
            f"{'ok' if self.ok else 'FAILED'}"
        )


def _not_run(stack: str, why: str) -> dict[str, Any]:
    return {"name": f"{stack}-not-run", "ok": False, "message": why}
