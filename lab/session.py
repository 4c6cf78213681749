"""One lab run: every stack on ONE simulated cluster, reset between stacks.

Order of a run (``python -m lab run --stack dev --stack gpu --stack cluster``):

1. the Pulumi CLI and the cluster (``tools.toolchain``; seconds when built), one cluster start;
2. every stack's scratch project, then ``pulumi preview --policy-pack`` of all stacks at once
   (they only read the empty cluster, so two cores run them side by side);
3. the real-CLI policy corpus subset (issue 17's ``lab/corpus.py``), once, on the same cluster;
4. stack by stack: ``up`` -> checks -> no-change preview -> mistakes (dev; cluster: its Karpenter
   one) -> ``destroy`` -> retained claims; on the cycle stack only (gpu when present: Langfuse's
   credentials and data are what retention matters most for; never cluster on ``auto``) ``up``
   again -> claims reused -> ``destroy`` again; then the reset: nothing of the stack left but what
   it retains, that deleted by name, and the cluster checked clean before the next stack; on a stack
   that installs KEDA the real operator runs from after ``up`` until after the last ``destroy``
   (``lab/keda.py``);
5. the cluster stopped by PID.

A stack with a dedicated GPU pool (``cluster``) gets the pool's label and taint on the GPU nodes
before its ``up`` (``lab/gpu_pool.py``), the placement and autoscaler checks after it
(``lab/checks.py``, ``lab/placement.py``), and its nodes put back as they were after its last
``destroy``. With ``cluster`` in the run the simulated cluster has three CPU nodes and two GPU
nodes (``cluster_shape``), for every stack of the run.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import os
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from config import StackConfig
from lab import gpu_pool, reset
from lab.checks import (
    Get,
    after_destroy,
    after_up,
    after_up_cluster,
    after_up_https,
    claims,
    event_log,
    expectations,
    keda_made_hpas,
    kubectl_get,
    not_provable,
    rebound,
    run_check,
    wait_for_minimum,
)
from lab.claims import ClaimNudger
from lab.keda import KedaOperator, OperatorError
from lab.listeners import ListenerWatch
from lab.mistakes import for_stack as mistakes_for
from lab.placement import GpuPool
from lab.runner import Cluster, Lab, Phase, build_toolchain, pulumi_env
from lab.webhooks import WebhookRelaxer
from tools import build_keda

NO_CYCLE = ("cluster",)
"""Stacks ``auto`` never picks for the destroy -> up -> destroy cycle (CI time: the run has 90 minutes)."""
CERTIFICATE_ISSUANCE = {
    "name": "certificate-issued",
    "why": "cert-manager's controller never runs here (kwok starts no containers) and no ACME directory is reachable: "
    "the Certificate stays unissued. Proven instead: the ClusterIssuers and the Certificate are stored as sent under "
    "cert-manager's CRDs, the HTTPS listener serves the Secret the Certificate writes, port 80 only redirects.",
}
HPA_WAIT_SECONDS = 120.0
"""How long the checks wait for the HPA controller (15 s period) to bring HPAs' targets to their minimum."""


def cycle_stack(stacks: list[str], choice: str) -> str | None:
    """The stack that runs destroy -> up again -> destroy: ``auto`` = gpu if in the run, else the first but cluster."""
    if choice == "none":
        return None
    if choice == "auto":
        return "gpu" if "gpu" in stacks else next((s for s in stacks if s not in NO_CYCLE), None)
    return choice


def cluster_shape(stacks: list[str], env: dict[str, str]) -> dict[str, str]:
    """``up.sh``'s node counts: with ``cluster`` in the run three CPU nodes and two GPU nodes (unless set)."""
    if "cluster" not in stacks:
        return {}
    wanted = {"K8S_SIM_CPU_NODES": "3", "K8S_SIM_GPU_NODES": "2"}
    return {key: env.get(key) or value for key, value in wanted.items()}


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
        workdir: Path | None = None,
        log=print,  # type: ignore[no-untyped-def]
    ) -> None:
        self.stacks = stacks
        self.cycle = cycle_stack(stacks, cycle)
        self.mistakes = {s: mistakes_for(s, mistakes) for s in stacks}
        self.keep = keep
        self.parallel = parallel
        self.log = log
        # Kept after the run (the report names it): the projects, event logs and the CLI's home.
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="lab-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.env = dict(os.environ)
        self.env.update(cluster_shape(stacks, self.env))
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
            self.timed("toolchain", lambda: pulumi_env(self.env, self.workdir, self.log))
            self.timed("cluster-up", self.cluster.start)
            for stack in self.stacks:
                lab = Lab(
                    stack, self.workdir / stack, self.log, self.env, self.parallel, started_cluster=self.cluster.started
                )
                self.labs[stack] = lab
            self.timed("prepare-projects", lambda: [lab.prepare_project() for lab in self.labs.values()])
            previewed = self.timed("preview-policy-all-stacks", self.previews)
            self.corpus = self.timed("corpus", self.corpus_beside_mistakes_before_crds)
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

    def corpus_beside_mistakes_before_crds(self) -> dict[str, Any]:
        """The real-CLI corpus and, at the same time, the mistakes that need a cluster without the CRDs.

        The corpus only previews (nothing is created), so the cluster has no Gateway API CRDs until the
        first stack's ``up``; the CRD-order mistake spends most of its minute waiting on the provider's
        retries, while the corpus works the cores.
        """
        with ThreadPoolExecutor(max_workers=1) as pool:
            mistakes = [pool.submit(lab.mistake, m) for lab in self.labs.values() for m in self.mistakes[lab.stack][1]]
            result = corpus(self.env, self.workdir / "corpus", self.log)
            for done in mistakes:
                done.result()
        return result

    def stack(self, lab: Lab, clean: bool) -> bool:
        """The GPU pool's nodes prepared (a stack with one), the stack run, the nodes put back.

        True when the cluster is left clean (and its nodes as they were) for the next stack.
        """
        cfg = lab.stack_config()
        pool = gpu_pool.pool_of(cfg)
        edits: list[gpu_pool.Edit] = []
        if pool is not None:
            start = time.monotonic()
            prepared, edits = gpu_pool.prepare(lab.kubectl, pool, edit=lab.started_cluster)
            lab.report.checks.append(prepared)
            lab.report.phases.append(Phase("gpu-pool-nodes", time.monotonic() - start, True))
            self.log(f"lab: {lab.stack}: {prepared['message']}")
        left_clean = False
        try:
            left_clean = self.run_stack(lab, clean, cfg, pool)
        finally:
            if edits and not self.keep:
                restored = gpu_pool.restore(lab.kubectl, edits)
                lab.report.checks.append(restored)
                left_clean = left_clean and restored["ok"]
        return left_clean

    def run_stack(self, lab: Lab, clean: bool, cfg: StackConfig, pool: GpuPool | None) -> bool:
        """up -> checks -> no-change preview beside the mistakes -> destroy [-> up again -> destroy] -> reset."""

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
            if not lab.started_cluster:  # a real kubelet's status updates make the controller re-check
                return lab.phase(name, "destroy", "--yes", "--skip-preview")
            with ClaimNudger(lab.kubectl) as nudger:
                ok = lab.phase(name, "destroy", "--yes", "--skip-preview")
            lab.report.nudged_claims = sorted({*lab.report.nudged_claims, *nudger.nudged})
            return ok

        if not up("up"):
            destroy("destroy")
            return self.reset(lab, objects, clean)
        with contextlib.ExitStack() as running:  # the KEDA operator, from here until after the last destroy
            keda = self.start_keda(lab, cfg, running)
            if not self.checked_stack(lab, cfg, pool, get, listeners, keda, up, destroy):
                return False
        return self.reset(lab, objects, clean)

    def start_keda(self, lab: Lab, cfg: StackConfig, running: contextlib.ExitStack) -> KedaOperator | None:
        """The real KEDA operator for a stack that installs KEDA on the lab's own cluster; None otherwise.

        A failure to build or start it is a failed check (the HPA check then cannot pass either).
        """
        if not (cfg.autoscaling.enabled and cfg.autoscaling.install_keda and lab.started_cluster):
            return None
        try:
            if not build_keda.cached_binary().exists():
                build_toolchain(["keda"], self.env)
            operator = KedaOperator(
                build_keda.cached_binary(), lab.kubectl, Path(lab.env["KUBECONFIG"]),
                cfg.autoscaling.keda_namespace, lab.workdir, self.log,
            )  # fmt: skip
            running.enter_context(operator)
        except (OperatorError, RuntimeError, OSError, subprocess.CalledProcessError) as exc:
            lab.report.checks.append({"name": "keda-operator-started", "ok": False, "message": str(exc)[-2000:]})
            return None
        lab.report.checks.append({
            "name": "keda-operator-started", "ok": True,
            "message": f"{build_keda.KEDA} as {cfg.autoscaling.keda_namespace}/{operator.service_account} "
            f"(the chart's args and env; log {operator.logfile})",
        })  # fmt: skip
        return operator

    def checked_stack(  # type: ignore[no-untyped-def]
        self, lab: Lab, cfg: StackConfig, pool: GpuPool | None, get: Get, listeners: ListenerWatch,
        keda: KedaOperator | None, up, destroy,
    ) -> bool:
        """Checks after ``up``, no-change preview and mistakes, destroy [-> up again -> destroy]: False to stop."""
        lab.report.resources = lab.count_resources()
        events = event_log(lab.workdir, "up")  # the engine's numbered events: the apply order of CRDs and istiod
        lab.report.checks += [*after_up(get, gpu=cfg.gpu.enabled, events=events), listeners.check()]
        if cfg.gateway.https.enabled:
            lab.report.checks += after_up_https(get, lab.export())
            lab.report.not_provable.append(CERTIFICATE_ISSUANCE)
        if pool is not None:
            lab.report.checks += self.cluster_checks(lab, get, pool, cfg, keda)
        while_up, _ = self.mistakes[lab.stack]
        with ThreadPoolExecutor(max_workers=1 + len(while_up)) as at_once:  # previews all: no lock, no change
            no_change = at_once.submit(lab.phase, "preview-no-changes", "preview", "--expect-no-changes", "--diff")
            refused = [at_once.submit(lab.mistake, mistake) for mistake in while_up]
            no_change.result()
            for done in refused:
                done.result()
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
        return True

    def cluster_checks(
        self, lab: Lab, get: Get, pool: GpuPool, cfg: StackConfig, keda: KedaOperator | None
    ) -> list[dict[str, Any]]:
        """Placement, spreading, PDBs and autoscalers, once the HPA controller had its turn; what cannot be shown."""
        expected = expectations(
            pool, lab.export(), autoscaling=cfg.autoscaling.enabled, karpenter=cfg.cloud.karpenter.enabled
        )
        results = []
        if keda is not None:  # first: the HPAs it makes are the ones the HPA controller then brings to minimum
            made = keda_made_hpas(expected.sent, keda.alive, keda.log_tail)
            results.append(run_check("keda-operator-made-hpas", made, get))
        waited, short = wait_for_minimum(get, HPA_WAIT_SECONDS)
        message = f"still short: {short}" if short else "every HPA's target at its minReplicas"
        lab.report.phases.append(Phase("wait-hpa-minimum", waited, not short, message))
        self.log(f"lab: {lab.stack}: waited {waited:.0f}s for the HPA controller: {message}")
        lab.report.not_provable += not_provable(expected, keda_ran=keda is not None)
        return results + after_up_cluster(get, expected)

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
            if lab.report.nudged_claims:
                print(f"  {lab.stack}: lab asked pvc-protection to re-check: {', '.join(lab.report.nudged_claims)}")
            for item in lab.report.not_provable:
                print(f"  n/a  {lab.stack} {item['name']}: not provable here: {item['why']}")
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
