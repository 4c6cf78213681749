"""The policy corpus's real-CLI subset: ``pulumi preview --policy-pack policies`` on each ``lab: yes`` program.

The offline preview judges every corpus program (``python -m offline corpus``); this proves the same
verdicts under the real engine, provider and policy host, against the lab's cluster. Each program runs
as ``__main__.py`` of one scratch Pulumi project (the corpus ``assets/``, ``corpus_support.py`` and a
copy of ``policies/`` beside it) on one stack; only ``preview`` runs, nothing is created.

Verdicts, as in ``offline/corpus.py``: a violating program is *blocked* when the preview fails and
prints the named policy as a mandatory violation, else it *slipped*; a legitimate one *passed* when the
preview succeeds, else it is a *false positive*; a Python traceback from the program (not the
``KeyboardInterrupt`` Python prints when the engine stops a program after a policy failure) is a *crash*.

Hook for ``lab/runner.py``: ``run_corpus_subset(lab.env, lab.workdir, lab.log)`` once the cluster is up
and ``lab.env`` has the toolchain's ``PATH``/``PULUMI_*`` and ``KUBECONFIG``; put the returned dict in the
lab report (``corpus``). ``python -m lab corpus`` does the same on its own.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from offline.corpus import CORPUS_DIR, Case, load_cases

ROOT = Path(__file__).resolve().parent.parent
STACK = "corpus"
WORKERS = 4
"""Programs previewed at once, each worker in its own project and stack: a preview spends much of its
time starting processes (CLI, language host, policy analyzer, provider) and waiting on them. On two
cores, 4 workers took the 56 programs from 150 s (2 workers) to 107 s in CI, with the CPU then busy."""
NAMESPACES = ("apps", "monitoring", "istio-system")
"""Namespaces the programs deploy into without creating them (server-side dry runs need them to exist)."""
_TRACEBACK = re.compile(r"Traceback \(most recent call last\):(?:(?!KeyboardInterrupt).)*?\n(\w+Error[^\n]*)", re.S)


def prepare(env: dict[str, str], workdir: Path, stack: str = STACK) -> Path:
    """A scratch project for the corpus programs, its stack and the namespaces they use."""
    project = workdir / f"{stack}-project"
    if project.exists():
        shutil.rmtree(project)
    shutil.copytree(CORPUS_DIR / "cases" / "assets", project / "assets")
    shutil.copy2(CORPUS_DIR / "corpus_support.py", project / "corpus_support.py")
    shutil.copytree(ROOT / "policies", project / "policies", ignore=shutil.ignore_patterns("__pycache__", "venv"))
    venv = ROOT / ".venv"
    policy = project / "policies" / "PulumiPolicy.yaml"
    policy.write_text(re.sub(r"virtualenv: .*", f"virtualenv: {venv}", policy.read_text()))
    (project / "Pulumi.yaml").write_text(
        "name: llm-tracing-infra\n"
        "description: policy corpus program (lab/corpus.py)\n"
        f"runtime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: {venv}\n"
    )
    _pulumi(env, project, "stack", "init", stack)
    _pulumi(env, project, "config", "set", "--secret", "corpusSecret", secrets.token_hex(24))
    for namespace in NAMESPACES:
        subprocess.run(["kubectl", "create", "namespace", namespace], env=env, capture_output=True, check=False)
    return project


def remove_namespaces(env: dict[str, str]) -> str:
    """Delete the namespaces ``prepare`` made, so the stacks after the corpus find the cluster as it was.

    Previews create nothing, so only these are left; an error names what could not be deleted.
    """
    done = subprocess.run(["kubectl", "delete", "namespace", *NAMESPACES, "--ignore-not-found", "--wait=true"],
                          env=env, capture_output=True, text=True, check=False)
    return "" if done.returncode == 0 else f"kubectl delete namespace {' '.join(NAMESPACES)}: {done.stderr.strip()}"


def _pulumi(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["pulumi", *args, "--non-interactive"], cwd=cwd, env=env, capture_output=True, text=True,
                          check=False, timeout=600)
    if done.returncode != 0 and args[0] in ("stack", "config"):
        raise RuntimeError(f"pulumi {' '.join(args)} failed: {(done.stdout + done.stderr)[-2000:]}")
    return done


def verdict(case: Case, returncode: int, output: str) -> tuple[str, str]:
    """(verdict, detail) of one real preview."""
    mandatory = [line.strip() for line in output.splitlines() if "[mandatory]" in line]
    crash = _TRACEBACK.search(output)
    if crash and not mandatory:
        return "crash", crash.group(1)
    if case.violating:
        named = [line for line in mandatory if f" {case.expect} " in f" {line} "]
        if returncode != 0 and named:
            return "blocked", named[0]
        errors = [line.strip() for line in output.splitlines() if line.strip().startswith("error:")]
        return "slipped", f"exit {returncode}; {mandatory or errors[:2] or 'no violation reported'}"
    if returncode == 0:
        return "passed", ""
    errors = [line.strip() for line in output.splitlines() if "error" in line.lower()][:3]
    return "false-positive", "; ".join(mandatory or errors)


def run_corpus_subset(
    env: dict[str, str], workdir: Path, log: Callable[[str], Any] = print, only: str = ""
) -> dict[str, Any]:
    """Preview every ``lab: yes`` corpus program with the policy pack; counts and per-case results."""
    cases = [c for c in load_cases() if c.lab and only in c.name]
    state = workdir / "state"  # a throw-away file backend of its own, like each lab stack's
    state.mkdir(parents=True, exist_ok=True)
    env = {**env, "PULUMI_BACKEND_URL": f"file://{state}", "PULUMI_CONFIG_PASSPHRASE": "lab-corpus"}
    stacks = [f"{STACK}-{index}" for index in range(min(WORKERS, len(cases)) or 1)]
    projects = [prepare(env, workdir, stack) for stack in stacks]

    def judge(index: int) -> list[dict[str, Any]]:
        """Every ``len(stacks)``-th case, one after another in this worker's own project and stack."""
        project, stack, judged = projects[index], stacks[index], []
        for case in cases[index :: len(stacks)]:
            shutil.copy2(case.path, project / "__main__.py")
            start = time.monotonic()
            done = _pulumi(env, project, "preview", "--stack", stack, "--policy-pack", str(project / "policies"))
            output = done.stdout + done.stderr
            (workdir / f"corpus-{case.name}.log").write_text(output)
            result, detail = verdict(case, done.returncode, output)
            seconds = round(time.monotonic() - start, 1)
            judged.append({"case": case.name, "style": case.style, "expect": case.expect, "verdict": result,
                           "detail": detail[:500], "seconds": seconds})
            log(f"lab corpus: {case.name}: {result} in {seconds:.0f}s" + (f" ({detail[:200]})" if result not in
                                                                            ("blocked", "passed") else ""))
        return judged

    with ThreadPoolExecutor(max_workers=len(stacks)) as pool:
        results = sorted((r for judged in pool.map(judge, range(len(stacks))) for r in judged),
                         key=lambda r: r["case"])
    tally = {v: sum(r["verdict"] == v for r in results)
             for v in ("blocked", "slipped", "passed", "false-positive", "crash")}
    summary = {
        "violating": sum(c.violating for c in cases),
        "legitimate": sum(not c.violating for c in cases),
        "blocked": tally["blocked"],
        "slipped": tally["slipped"],
        "passed": tally["passed"],
        "false_positives": tally["false-positive"],
        "crashes": tally["crash"],
    }
    cleanup_error = remove_namespaces(env)
    summary["ok"] = summary["slipped"] == summary["false_positives"] == summary["crashes"] == 0 and not cleanup_error
    return {**summary, "results": results, **({"cleanupError": cleanup_error} if cleanup_error else {})}
