"""The lab: the real Pulumi CLI against a real API server, in the order users run it.

Phases: ``pulumi preview --policy-pack policies`` (must pass), ``pulumi up``, cluster checks,
``pulumi preview --expect-no-changes``, ``pulumi destroy``, retained-volume checks; then the lab
tears down what it started. The project is copied to a scratch directory so the lab's stack
settings (chart mirror, local CRD bundle, generated secrets by command, verification off) never
touch the repository's stack files; the state lives in a throw-away file backend.

One ``Cluster`` serves every stack of a run (``lab/session.py``); each stack is a ``Lab`` with its
own scratch copy and state. The Pulumi CLI and the cluster's binaries come from
``python -m tools.toolchain`` (one shared Go cache, a heartbeat while building, seconds when built).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config import StackConfig
from lab.gpu_pool import stack_config
from lab.mistakes import Mistake, mutated_copy, verdict
from lab.pulumi_home import own_home
from tools.paths import cache_home, pulumi_cache, shared_dir

ROOT = Path(__file__).resolve().parent.parent
SHARED = shared_dir()
"""The toolchain and chart mirror: ``$LLM_TRACING_SHARED``, else ``shared`` beside the checkout (a checkout
elsewhere, such as CI's scratch clone, sets the variable)."""
TOOLCHAIN = SHARED / "toolchain"
PULUMI_CACHE = pulumi_cache()
K8S_SIM_DIR = Path(os.environ.get("K8S_SIM_DIR", "/tmp/k8s-sim"))
K8S_SIM_BIN = Path(os.environ.get("K8S_SIM_CACHE", cache_home() / "k8s-sim")) / "bin"


def build_toolchain(steps: list[str], env: dict[str, str]) -> None:
    """``python -m tools.toolchain STEPS``: built once on the shared Go caches, seconds when built.

    Its heartbeat goes straight to the console, so a long cold build shows progress every 30 s.
    """
    if not steps:
        return
    command = [sys.executable, "-m", "tools.toolchain", *steps]
    done = subprocess.run(command, cwd=ROOT, env={**env, "LLM_TRACING_SHARED": str(SHARED)}, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"toolchain build {' '.join(steps)} failed (its log is named above)")


def pulumi_env(env: dict[str, str], workdir: Path, log=print) -> None:  # type: ignore[no-untyped-def]
    """Put a Pulumi CLI in ``env``: one on PATH as is, else the offline toolchain's (built on first use).

    Either runs in a home of its own under ``workdir``, without its automatic log (``lab/pulumi_home.py``).
    """
    own = shutil.which("pulumi", path=env.get("PATH"))
    if own:
        log(f"lab: using {own}")
    else:
        build_toolchain(["pulumi"], env)
        exported = subprocess.run(
            ["bash", "-c", f"source {PULUMI_CACHE / 'env.sh'} && env -0"], capture_output=True, check=True
        )
        for item in exported.stdout.split(b"\0"):
            key, _, value = item.decode().partition("=")
            if key.startswith(("PULUMI", "PATH")):
                env[key] = value
    own_home(env, workdir)


class Cluster:
    """The simulated cluster (or the one of ``KUBECONFIG``), shared by every stack of a run."""

    def __init__(self, env: dict[str, str], log=print) -> None:  # type: ignore[no-untyped-def]
        self.env = env
        self.log = log
        self.started = False
        self.pids: dict[str, int] = {}

    def start(self) -> None:
        if os.environ.get("KUBECONFIG"):
            self.log(f"lab: using the cluster of KUBECONFIG={os.environ['KUBECONFIG']}")
            return
        build_toolchain(["k8s-sim"], self.env)
        _bash(f"bash {TOOLCHAIN / 'k8s-sim' / 'down.sh'} --purge", "k8s-sim purge", self.env, check=False)
        up = f"K8S_SIM_FAKE_LB=1 K8S_SIM_FAKE_VOLUMES=1 bash {TOOLCHAIN / 'k8s-sim' / 'up.sh'}"
        _bash(up, "k8s-sim up", self.env)
        self.started = True
        self.env["KUBECONFIG"] = str(K8S_SIM_DIR / "kubeconfig")
        self.env["PATH"] = f"{K8S_SIM_BIN}:{self.env['PATH']}"

    def stop(self) -> dict[str, Any] | None:
        """Stop what the lab started (by the PIDs the toolchain recorded) and check they are gone."""
        if not self.started:
            return None
        pids = {p.stem: int(p.read_text().strip()) for p in (K8S_SIM_DIR / "pids").glob("*.pid")}
        _bash(f"bash {TOOLCHAIN / 'k8s-sim' / 'down.sh'} --purge", "k8s-sim down", self.env, check=False)
        self.started = False
        alive = [f"{name}({pid})" for name, pid in pids.items() if _alive(pid)]
        return {
            "name": "processes-stopped",
            "ok": bool(pids) and not alive,
            "message": f"{len(pids)} cluster processes stopped by PID" if not alive else f"still running: {alive}",
        }


def _bash(script: str, what: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return done


COPY = [
    "__main__.py",
    "config",
    "quantities.py",
    "versions.py",
    "Pulumi.yaml",
    "components",
    "apps",
    "policies",
    "requirements.txt",
    "pyproject.toml",
    "verify",
]


def lab_settings(stack: str) -> dict[str, str]:
    """Stack settings for the lab, applied with `pulumi config set --path` on the scratch copy."""
    settings = {
        "charts.source": "mirror",
        "charts.mirror": str(SHARED / "charts"),
        "generatedSecrets.provider": "command",
        # No controller programs Gateways in the simulated cluster (istiod's pod never runs).
        "gateway.awaitProgrammed": "false",
    }
    bundle = SHARED / "reference" / "gateway-api"
    if bundle.exists():
        settings["istio.gatewayApiBundle"] = str(bundle / "{version}" / "experimental")
    if stack == "cluster":
        settings.update(KARPENTER_SETTINGS)
        settings.update(HTTPS_SETTINGS)
    return settings


HTTPS_SETTINGS = {
    "gateway.baseDomain": "lab.example.com",
    "gateway.https.enabled": "true",
    "gateway.https.acmeEmail": "platform@example.com",
    "gateway.https.acmeEnvironment": "staging",
}
"""``cluster`` in the lab also runs HTTPS with Let's Encrypt (issue 19): the redirect route, the HTTPS
listener, the Certificate and both ACME ClusterIssuers go to the real API server (nothing is issued:
no cert-manager controller runs and example.com resolves to no Gateway)."""


KARPENTER_SETTINGS = {
    "cloud.karpenter.enabled": "true",
    "cloud.karpenter.clusterName": "lab",
    "cloud.karpenter.nodeRole": "KarpenterNodeRole-lab",
    "cloud.karpenter.amiAlias": "al2023@v20251120",
}
"""``cluster`` in the lab: Karpenter's CRDs and the GPU NodePool/EC2NodeClass go to the real API server
(no controller: ``installController`` stays off; the names are placeholders nothing in AWS resolves)."""


@dataclass
class Phase:
    name: str
    seconds: float
    ok: bool
    message: str = ""


@dataclass
class Report:
    stack: str
    resources: int = 0
    phases: list[Phase] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    verification: str = "off in the lab: simulated pods cannot be reached (verification.enabled=false)"
    relaxed_webhooks: list[str] = field(default_factory=list)
    nudged_claims: list[str] = field(default_factory=list)
    """Deleting claims the lab annotated so that pvc-protection re-checks them (``lab/claims.py``)."""
    not_provable: list[dict[str, str]] = field(default_factory=list)
    """What the simulated cluster cannot show (name, why): reported, never faked, never a pass."""
    cleaned: list[str] = field(default_factory=list)
    """What the lab deleted by name after the stack's destroy (retained on purpose), before the next stack."""

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.phases) and all(c["ok"] for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "ok": self.ok,
            "resources": self.resources,
            "phases": {p.name: round(p.seconds, 1) for p in self.phases},
            "phaseResults": [p.__dict__ for p in self.phases],
            "checks": self.checks,
            "verification": self.verification,
            "relaxedWebhooks": self.relaxed_webhooks,
            "nudgedClaims": self.nudged_claims,
            "notProvableHere": self.not_provable,
            "cleanedAfterDestroy": self.cleaned,
        }

    def summary(self) -> str:
        failed = [p.name for p in self.phases if not p.ok] + [c["name"] for c in self.checks if not c["ok"]]
        passed = sum(c["ok"] for c in self.checks)
        seconds = " ".join(f"{p.name}={p.seconds:.0f}s" for p in self.phases)
        verdict = "ok" if self.ok else f"FAILED ({', '.join(failed)})"
        return (
            f"lab: stack={self.stack} resources={self.resources} checks={passed}/{len(self.checks)} "
            f"{seconds} -> {verdict}"
        )


class Lab:
    """One stack's lab: its scratch project and state, on a cluster and CLI already in ``env``."""

    def __init__(
        self,
        stack: str,
        workdir: Path | None = None,
        log=print,  # type: ignore[no-untyped-def]
        env: dict[str, str] | None = None,
        parallel: int | None = None,
        started_cluster: bool = False,
    ) -> None:
        self.stack = stack
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix=f"lab-{stack}-"))
        self.log = log
        self.parallel = parallel
        self.started_cluster = started_cluster
        """On the simulated cluster the lab started: fail-closed webhooks may be relaxed there only."""
        self.env = dict(env if env is not None else os.environ)
        self.report = Report(stack)
        state = self.workdir / "state"
        state.mkdir(parents=True, exist_ok=True)
        self.env.update(
            PULUMI_BACKEND_URL=f"file://{state}",
            PULUMI_CONFIG_PASSPHRASE="lab-throwaway",
            PULUMI_SKIP_UPDATE_CHECK="true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
            # The file backend rewrites the whole state (15 MB for dev: every CRD schema, every chart
            # object) after each step; the engine spent most of a destroy's CPU on that. The lab's
            # state is thrown away: only the final snapshot is written (a crashed CLI loses its state).
            PULUMI_SKIP_CHECKPOINTS="true",
        )

    # -- project copy ------------------------------------------------------------------------
    def prepare_project(self) -> Path:
        project = self.workdir / "project"
        project.mkdir(parents=True, exist_ok=True)
        for name in COPY:
            source = ROOT / name
            if source.is_dir():
                # Not policies/venv (make policy-venv, 85 MB): the copy's PulumiPolicy.yaml names ROOT's .venv.
                shutil.copytree(
                    source, project / name, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "venv")
                )
            elif source.exists():
                shutil.copy2(source, project / name)
        shutil.copy2(ROOT / f"Pulumi.{self.stack}.yaml", project / f"Pulumi.{self.stack}.yaml")
        venv = ROOT / ".venv"
        text = (project / "Pulumi.yaml").read_text().replace("virtualenv: .venv", f"virtualenv: {venv}")
        (project / "Pulumi.yaml").write_text(text)
        policy = project / "policies" / "PulumiPolicy.yaml"
        if policy.exists():
            policy.write_text(re.sub(r"virtualenv: .*", f"virtualenv: {venv}", policy.read_text()))
        self.project = project
        self.pulumi("stack", "init", self.stack)
        for key, value in lab_settings(self.stack).items():
            self.pulumi("config", "set", "--path", key, value)
        self.pulumi("config", "set", "--path", "verification.enabled", "false", check=False)
        # So the second `up` after `destroy` derives the same Langfuse credentials as the retained data's.
        self.pulumi("config", "set", "--secret", "langfuseCredentialSeed", secrets.token_hex(32))
        return project

    # -- commands ----------------------------------------------------------------------------
    def pulumi(self, *args: str, check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["pulumi", *args, "--non-interactive"],
            cwd=cwd or self.project,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"pulumi {' '.join(args)} failed:\n{_errors(done.stdout + done.stderr)}")
        return done

    def phase(self, name: str, *args: str, events: Path | None = None) -> bool:
        """One CLI phase; with ``events``, its engine events (``--json``, numbered in emit order) go there."""
        start = time.monotonic()
        if self.parallel and args[0] in ("preview", "up", "destroy"):
            args = (*args, "--parallel", str(self.parallel))
        if events is not None:
            args = (*args, "--json")
        done = self.pulumi(*args, check=False)
        seconds = time.monotonic() - start
        output = done.stdout + done.stderr
        if events is not None:
            events.write_text(done.stdout)
            output = engine_messages(done.stdout) + done.stderr
        (self.workdir / f"{name}.log").write_text(output)  # the whole output, for a look later
        ok = done.returncode == 0
        message = "" if ok else _errors(output)
        self.report.phases.append(Phase(name, seconds, ok, message))
        self.log(f"lab: {name}: {'ok' if ok else 'FAILED'} in {seconds:.0f}s" + (f"\n{message}" if message else ""))
        return ok

    def mistake(self, mistake: Mistake) -> None:
        """Preview a copy of the project with ``mistake`` applied; a check passes if it is refused."""
        copy = mutated_copy(self.project, mistake)
        args = [*mistake.command, "--stack", self.stack]
        if mistake.policy_pack:
            args += ["--policy-pack", str(copy / "policies")]
        for target in mistake.targets:
            args += ["--target", target]
        start = time.monotonic()
        done = self.pulumi(*args, check=False, cwd=copy)
        output = done.stdout + done.stderr
        (self.workdir / f"{mistake.name}.log").write_text(output)
        result = verdict(mistake, done.returncode, output)
        self.report.checks.append(result)
        self.log(f"lab: {mistake.name}: {'ok' if result['ok'] else 'FAILED'} in {time.monotonic() - start:.0f}s")
        shutil.rmtree(copy, ignore_errors=True)

    def stack_config(self) -> StackConfig:
        """The stack's configuration as the CLI holds it (lab settings included), through the program's model."""
        return stack_config(json.loads(self.pulumi("config", "--json").stdout))

    def kubectl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["kubectl", *args], env=self.env, capture_output=True, text=True, check=False)

    def count_resources(self) -> int:
        return len(self.export().get("deployment", {}).get("resources") or [])

    def export(self) -> dict[str, Any]:
        """The stack's state (secrets readable: it stays in memory, never written)."""
        done = self.pulumi("stack", "export", "--show-secrets", check=False)
        return json.loads(done.stdout) if done.returncode == 0 else {}


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting to be reaped (an exited process keeps its PID until then)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return not re.search(r"^State:\s+Z", status, re.MULTILINE)


def engine_messages(events: str) -> str:
    """The diagnostics of a ``--json`` event stream as the CLI would print them (``error: ...``)."""
    lines = []
    for line in events.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            lines.append(line)
            continue
        diagnostic = event.get("diagnosticEvent") if isinstance(event, dict) else None
        if diagnostic and diagnostic.get("severity") != "debug":
            urn = diagnostic.get("urn") or ""
            lines.append(f"{diagnostic.get('severity')}: {urn} {diagnostic.get('message', '').strip()}".strip())
    return "\n".join(lines) + "\n"


def _errors(output: str) -> str:
    """The lines that say what failed: the engine's, the API server's and the policy pack's messages.

    For a preview that proposed changes, the resources it would change (``--diff`` output) first.
    """
    changed = changed_resources(output)
    wanted = re.compile(
        r"^\s*(error|warning):|\bmandatory\b|Policy Violations|^\s*\[mandatory\]|"
        r"^\s*(kubernetes|command|pulumi):\S+ \(|failed to|admission webhook"
    )
    lines = [line.rstrip() for line in output.splitlines() if wanted.search(line)]
    return "\n".join(changed[:30] + lines[-40:]) or output[-3000:]


def changed_resources(output: str) -> list[str]:
    """``"update kubernetes:core/v1:Secret monitoring-grafana-admin"`` for each change in ``--diff`` output."""
    found = []
    lines = output.splitlines()
    for i, line in enumerate(lines):
        match = CHANGE.match(line)
        if not match:
            continue
        urn = next((u for u in lines[i + 1 : i + 4] if "[urn=" in u), "")
        name = urn.rstrip("]").rsplit("::", 1)[-1] if urn else "?"
        found.append(f"{match.group(3)} {match.group(2)} {name}")
    return found


# A resource line of `pulumi preview --diff`: "~ kubernetes:core/v1:Secret: (update)", "+-", "+", "-".
CHANGE = re.compile(r"^\s*(~|\+-|-\+|\+|-)\s*(\S+:\S+): \((update|replace|create|delete|create-replacement)")
