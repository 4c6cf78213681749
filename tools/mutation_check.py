"""Mutation check: break the guard code one line at a time and see that a test notices.

``python tools/mutation_check.py`` (``make mutation``) applies each mutation of ``MUTATIONS``, one
at a time, to a throw-away copy of the repository (never the working tree), runs the tests named
for it (``pytest -x -q``) and reports caught (a test failed) or survived (all passed), then the
score. Each worker first runs its tests on the unmutated copy: a mutation only counts as caught
when those tests pass without it.

Exit 1 when any mutation survives, when a mutation's original snippet is not found exactly once
(a stale mutation: the code moved, re-target it), or when the unmutated tests fail.

The table is plain data so it can be re-targeted when code moves: each row names the file, the
exact original snippet, what it becomes and the targeted tests (files or node ids).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IGNORED = shutil.ignore_patterns(".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "out")


@dataclass(frozen=True)
class Mutation:
    name: str
    category: str
    file: str
    original: str
    mutated: str
    tests: tuple[str, ...]
    """pytest arguments: test files or node ids that must fail once the mutation is applied."""


T_VERIFY = "tests/test_verify.py::"
MUTATIONS: tuple[Mutation, ...] = (
    # --- config bounds (config.py: moving to a config/ package on main; re-target after the merge) ---
    Mutation(
        "vllm-gpu-memory-accepts-1",
        "config bounds",
        "config/sections.py",
        "gpu_memory_utilization: float = Field(default=0.9, gt=0.0, lt=1.0)",
        "gpu_memory_utilization: float = Field(default=0.9, gt=0.0, le=1.0)",
        ("tests/test_config.py::test_bad_input_fails_before_any_resource",),
    ),
    Mutation(
        "canary-percent-unbounded",
        "config bounds",
        "config/sections.py",
        'percent: int = Field(ge=0, le=100, description="Share of requests sent to the canary.")',
        'percent: int = Field(ge=0, le=1000, description="Share of requests sent to the canary.")',
        ("tests/test_config.py::test_bad_input_fails_before_any_resource",),
    ),
    # --- each mandatory policy of policies/llm_policies ---
    Mutation(
        "ingress-kind-missed",
        "policy",
        "policies/llm_policies/no_ingress.py",
        'if obj.kind == "Ingress" and (',
        'if obj.kind == "Ingres" and (',
        ("tests/test_policies.py",),
    ),
    Mutation(
        "ingress-policy-advisory",
        "policy",
        "policies/llm_policies/no_ingress.py",
        "enforcement_level=EnforcementLevel.MANDATORY,",
        "enforcement_level=EnforcementLevel.ADVISORY,",
        ("tests/test_policies.py", "tests/test_policies_pack.py"),
    ),
    Mutation(
        "istio-routing-group-inverted",
        "policy",
        "policies/llm_policies/no_istio_routing.py",
        "if obj.kind in REPLACEMENTS and istio:",
        "if obj.kind in REPLACEMENTS and not istio:",
        ("tests/test_policies.py",),
    ),
    Mutation(
        "vllm-docker-container-allowed",
        "policy",
        "policies/llm_policies/vllm_kubernetes_only.py",
        "    if running:\n",
        "    if not running:\n",
        ("tests/test_policies.py",),
    ),
    Mutation(
        "gpu-memory-policy-accepts-1",
        "policy",
        "policies/llm_policies/vllm_gpu_memory.py",
        "if not 0.0 < value < 1.0:",
        "if not 0.0 < value <= 1.0:",
        ("tests/test_policies.py",),
    ),
    Mutation(
        "credential-literal-not-reported",
        "policy",
        "policies/llm_policies/credential_literals.py",
        "        kind = credential_shape(text)\n        if kind:\n",
        "        kind = credential_shape(text)\n        if kind and False:\n",
        ("tests/test_policies.py",),
    ),
    Mutation(
        "pod-security-allows-privilege-escalation",
        "policy",
        "policies/llm_policies/pod_security_level.py",
        '        if ctx.get("allowPrivilegeEscalation") is not False:',
        '        if ctx.get("allowPrivilegeEscalation") is not False and False:',
        ("tests/test_pod_security.py",),
    ),
    Mutation(
        "env-literal-credential-inverted",
        "policy",
        "policies/llm_policies/env_literal_credentials.py",
        "            if names:\n                yield (",
        "            if names and False:\n                yield (",
        ("tests/test_policies.py",),
    ),
    Mutation(
        "secret-literal-data-ignored",
        "policy",
        "policies/llm_policies/secret_literal_data.py",
        "            for why, paths in found.items():\n",
        "            for why, paths in list(found.items())[:0]:\n",
        ("tests/test_policies.py",),
    ),
    Mutation(
        "istiod-order-inverted",
        "policy",
        "policies/llm_policies/istiod_after_gateway_crds.py",
        "elif not waits_for(nodes, istiod.urn, bundle):",
        "elif waits_for(nodes, istiod.urn, bundle) and False:",
        ("tests/test_policies.py",),
    ),
    Mutation(
        "node-exporter-missing-label-accepted",
        "policy",
        "policies/llm_policies/node_exporter_no_sidecar.py",
        'return any(str(as_dict(m).get(OPT_OUT, "")).strip().lower() == "false" for m in maps)',
        'return any(str(as_dict(m).get(OPT_OUT, "")).strip().lower() != "true" for m in maps)',
        ("tests/test_policies.py",),
    ),
    Mutation(
        "missing-policy-pack-advisory",
        "policy",
        "offline/policy_bridge.py",
        'Finding("policy-pack", "mandatory", None, f"policy pack not found',
        'Finding("policy-pack", "advisory", None, f"policy pack not found',
        ("tests/test_policy_bridge.py",),
    ),
    Mutation(
        "crds-first-check-blind",
        "offline check",
        "offline/checks/crds.py",
        "if not any(plan.depends_on(resource.urn, installer.urn) for installer in installers):",
        "if not installers:",
        ("tests/test_crds_check.py",),
    ),
    # --- secret marking of outputs ---
    Mutation(
        "grafana-password-exported-in-clear",
        "secret marking",
        "__main__.py",
        'pulumi.export("grafanaAdminPassword", monitoring.grafana_admin_password)',
        'pulumi.export("grafanaAdminPassword", pulumi.Output.unsecret(monitoring.grafana_admin_password))',
        ("tests/test_secret_outputs.py",),
    ),
    Mutation(
        "litellm-key-exported-in-clear",
        "secret marking",
        "__main__.py",
        'pulumi.export("litellmMasterKey", proxy.master_key)',
        'pulumi.export("litellmMasterKey", pulumi.Output.unsecret(proxy.master_key))',
        ("tests/test_secret_outputs.py",),
    ),
    Mutation(
        "langfuse-admin-exported-in-clear",
        "secret marking",
        "__main__.py",
        'pulumi.export("langfuseAdmin", observer.admin_credentials)',
        'pulumi.export("langfuseAdmin", pulumi.Output.unsecret(observer.admin_credentials))',
        ("tests/test_secret_outputs.py",),
    ),
    # --- retention (storage.retainOnDestroy) ---
    Mutation(
        "data-namespaces-not-retained",
        "retention",
        "components/istio_mesh.py",
        "retain_on_delete=args.retain_data_namespaces and key in DATA_NAMESPACES",
        "retain_on_delete=args.retain_data_namespaces and key not in DATA_NAMESPACES",
        ("tests/test_istio_mesh.py::test_namespaces_holding_data_outlive_destroy_unless_opted_out",),
    ),
    Mutation(
        "model-cache-not-retained",
        "retention",
        "components/_engine.py",
        "opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=retain_cache),",
        "opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=False),",
        ("tests/test_serving.py::test_vllm_pod_has_gpu_probes_cache_shm_and_runtime_class",),
    ),
    Mutation(
        "langfuse-volumes-deleted",
        "retention",
        "components/langfuse.py",
        "opts=pulumi.ResourceOptions(parent=self, retain_on_delete=args.retain),",
        "opts=pulumi.ResourceOptions(parent=self, retain_on_delete=False),",
        ("tests/test_langfuse.py::test_persistence_follows_retain_on_destroy",),
    ),
    # --- security context ---
    Mutation(
        "engine-runs-as-root",
        "security context",
        "components/_engine.py",
        '"runAsNonRoot": True,\n                        "runAsUser": 1000,',
        '"runAsNonRoot": False,\n                        "runAsUser": 0,',
        ("tests/test_security_context.py",),
    ),
    Mutation(
        "restricted-context-allows-root",
        "security context",
        "components/_k8s.py",
        '"runAsNonRoot": True,\n        "capabilities": {"drop": ["ALL"]},',
        '"runAsNonRoot": False,\n        "capabilities": {"drop": ["ALL"]},',
        ("tests/test_security_context.py",),
    ),
    Mutation(
        "engine-privilege-escalation",
        "security context",
        "components/_engine.py",
        '"securityContext": {\n            "allowPrivilegeEscalation": False,\n'
        '            "readOnlyRootFilesystem": True,',
        '"securityContext": {\n            "allowPrivilegeEscalation": True,\n'
        '            "readOnlyRootFilesystem": True,',
        ("tests/test_security_context.py",),
    ),
    # --- lab checks (fail closed) ---
    Mutation(
        "lab-error-answer-read-as-empty",
        "lab checks",
        "lab/checks.py",
        'if not isinstance(answer, dict) or answer.get("error") or not isinstance(answer.get("items"), list):',
        'if not isinstance(answer, dict) or not isinstance(answer.get("items"), list):',
        ("tests/test_lab_checks.py",),
    ),
    Mutation(
        "lab-kubectl-exit-code-ignored",
        "lab checks",
        "lab/checks.py",
        "        if done.returncode != 0:\n            raise EvidenceError",
        "        if done.returncode > 1:\n            raise EvidenceError",
        ("tests/test_lab_checks.py",),
    ),
    Mutation(
        "lab-crd-order-from-start-not-done",
        "lab checks",
        "lab/checks.py",
        'if kind == "done" and typ == CRD_TYPE',
        'if kind == "pre" and typ == CRD_TYPE',
        ("tests/test_lab_checks.py",),
    ),
    Mutation(
        "lab-no-pods-means-none-pending",
        "lab checks",
        "lab/checks.py",
        "    if not pods:  #",
        "    if not pods and False:  #",
        ("tests/test_lab_checks.py",),
    ),
    Mutation(
        "lab-nothing-retained-passes",
        "lab checks",
        "lab/checks.py",
        "bool(before) and not lost and set(remaining) <= set(before)",
        "not lost and set(remaining) <= set(before)",
        ("tests/test_lab_checks.py",),
    ),
    # --- python -m verify (fail closed) ---
    Mutation(
        "verify-401-on-open-route-passes",
        "verify",
        "verify/checks.py",
        "ok = 200 <= response.status < 400",
        "ok = response.status < 500 and response.status != 404",
        (T_VERIFY + "test_open_route_refusing_the_client_is_never_a_pass",),
    ),
    Mutation(
        "verify-unguarded-route-passes",
        "verify",
        "verify/checks.py",
        "if anonymous not in (401, 403):",
        "if anonymous not in (200, 401, 403):",
        (T_VERIFY + "test_guarded_route_answering_without_credentials_fails",),
    ),
    Mutation(
        "verify-unasked-skip-exits-0",
        "verify",
        "verify/checks.py",
        'return self.status == "FAIL" or (self.status == "SKIP" and not self.accepted)',
        'return self.status == "FAIL"',
        (T_VERIFY + "test_grpc_check_is_skipped_with_the_reason_without_grpcio",),
    ),
)


UNMUTATED = "(unmutated)"


@dataclass(frozen=True)
class Outcome:
    name: str
    verdict: str  # "caught", "SURVIVED", "STALE", "ERROR", "UNJUDGED", "baseline ok", "BASELINE FAILED"
    seconds: float
    detail: str = ""


def stale(root: Path, mutation: Mutation) -> str | None:
    """Why ``mutation`` cannot be applied to ``root`` (None when its snippet occurs exactly once)."""
    path = root / mutation.file
    if not path.is_file():
        return f"{mutation.file} does not exist"
    count = path.read_text().count(mutation.original)
    if count != 1:
        return f"original snippet found {count} times in {mutation.file} (want exactly 1)"
    return None


def pytest(copy: Path, args: tuple[str, ...], timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}  # no .pyc: a same-size edit within a second is seen
    argv = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *args]
    try:
        return subprocess.run(argv, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        return subprocess.CompletedProcess(argv, -1, str(exc.stdout or ""), f"timed out after {timeout:g}s")


def run_one(copy: Path, mutation: Mutation, timeout: float) -> Outcome:
    """Apply ``mutation`` in ``copy``, run its tests, restore the file."""
    path = copy / mutation.file
    original = path.read_text()
    start = time.monotonic()
    path.write_text(original.replace(mutation.original, mutation.mutated, 1))
    try:
        done = pytest(copy, mutation.tests, timeout)
    finally:
        path.write_text(original)
    seconds = time.monotonic() - start
    if done.returncode == 0:
        return Outcome(mutation.name, "SURVIVED", seconds, "every targeted test passed")
    if done.returncode not in (1,):  # 2-5: usage/collection errors, -1: timeout: not a test that noticed
        tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
        return Outcome(mutation.name, "ERROR", seconds, f"pytest exited {done.returncode}: {' | '.join(tail)}")
    failed = next((ln for ln in done.stdout.splitlines() if ln.startswith("FAILED")), "a test failed")
    return Outcome(mutation.name, "caught", seconds, failed[:160])


def baseline(copy: Path, mutations: tuple[Mutation, ...], timeout: float) -> Outcome:
    args = tuple(dict.fromkeys(arg for m in mutations for arg in m.tests))
    start = time.monotonic()
    done = pytest(copy, args, timeout)
    seconds = time.monotonic() - start
    if done.returncode == 0:
        return Outcome(UNMUTATED, "baseline ok", seconds, f"{len(args)} targets pass without mutations")
    tail = " | ".join((done.stdout + done.stderr).strip().splitlines()[-3:])
    return Outcome(UNMUTATED, "BASELINE FAILED", seconds, tail)


def split(mutations: list[Mutation], jobs: int) -> list[list[Mutation]]:
    """Mutations per worker, those sharing a test file on the same one (each worker runs its files unmutated once)."""
    groups: dict[str, list[Mutation]] = {}
    for m in mutations:
        groups.setdefault(m.tests[0].split("::")[0], []).append(m)
    queues: list[list[Mutation]] = [[] for _ in range(max(1, min(jobs, len(groups))))]
    for group in sorted(groups.values(), key=len, reverse=True):
        min(queues, key=len).extend(group)
    return queues


def worker_copies(jobs: int, scratch: Path) -> list[Path]:
    copies = []
    for index in range(jobs):
        target = scratch / f"copy-{index}"
        shutil.copytree(ROOT, target, ignore=IGNORED, symlinks=True)
        copies.append(target)
    return copies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/mutation_check.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="mutations run in parallel, each in its own copy")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds per pytest run")
    parser.add_argument("--only", action="append", default=[], metavar="NAME", help="run just these mutations")
    args = parser.parse_args(argv)
    chosen = tuple(m for m in MUTATIONS if not args.only or m.name in args.only)
    if args.only and len(chosen) != len(set(args.only)):
        parser.error(f"unknown mutation in --only; known: {', '.join(m.name for m in MUTATIONS)}")

    started = time.monotonic()
    outcomes: list[Outcome] = [Outcome(m.name, "STALE", 0.0, why) for m in chosen if (why := stale(ROOT, m))]
    runnable = [m for m in chosen if not stale(ROOT, m)]
    with tempfile.TemporaryDirectory(prefix="mutation-") as scratch:
        queues = split(runnable, max(1, args.jobs))
        copies = worker_copies(len(queues), Path(scratch))

        def work(index: int) -> list[Outcome]:
            """This worker's targets unmutated first, then its mutations one at a time."""
            if not queues[index]:
                return []
            first = baseline(copies[index], tuple(queues[index]), args.timeout)
            if first.verdict != "baseline ok":  # a failing test proves nothing about a mutation
                return [first] + [Outcome(m.name, "UNJUDGED", 0.0, "its tests fail unmutated") for m in queues[index]]
            return [first] + [run_one(copies[index], m, args.timeout) for m in queues[index]]

        with ThreadPoolExecutor(max_workers=len(queues)) as pool:
            for results in pool.map(work, range(len(queues))):
                outcomes += results

    order = {m.name: i for i, m in enumerate(MUTATIONS)}
    width = max(len(m.name) for m in MUTATIONS)
    category = {m.name: m.category for m in MUTATIONS}
    for o in sorted(outcomes, key=lambda o: order.get(o.name, -1)):
        print(f"  {o.verdict:<15} {o.name:<{width}}  {category.get(o.name, ''):<16} {o.seconds:5.1f}s  {o.detail}")
    caught = sum(o.verdict == "caught" for o in outcomes)
    total = len(chosen)
    base_ok = all(o.verdict == "baseline ok" for o in outcomes if o.name == UNMUTATED)
    bad = [o.name for o in outcomes if o.verdict not in ("caught", "baseline ok")]
    print(
        f"mutation score: {caught}/{total} caught ({100 * caught / max(total, 1):.0f}%), "
        f"{len(bad)} not caught/stale/error, unmutated tests {'pass' if base_ok else 'FAIL'}, "
        f"{time.monotonic() - started:.0f}s"
    )
    return 0 if base_ok and not bad and caught == total else 1


if __name__ == "__main__":
    sys.exit(main())
