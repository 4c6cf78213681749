"""Every generated or derived credential leaves the program as a Pulumi secret (``[secret]`` in the plan).

The plan's ``outputs`` are the stack outputs as ``pulumi stack output`` shows them: the mock
runtime reads each export's secret flag (``Output.is_secret``), so an export that lost its
``Output.secret`` reads in clear here, exactly as it would in the real stack's outputs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pulumi
import pulumi_command as command
import pytest

from components import _secrets
from config.sections import GeneratedSecrets
from offline.plan import SECRET, Plan
from offline.runner import run_program
from tests.support import stack_plan

ROOT = Path(__file__).resolve().parent.parent

CREDENTIALS = {
    "dev": ("grafanaAdminPassword", "litellmMasterKey"),
    "gpu": ("grafanaAdminPassword", "litellmMasterKey", "langfuseAdmin", "otlpBearerToken"),
}
"""The credential outputs each stack exports (a credential that vanished fails too)."""

CREDENTIAL_LIKE = re.compile(r"password|key|secret|token|credential|admin", re.IGNORECASE)
"""An output named like one of these is a credential, whoever adds it later."""


def seeded_plan(tmp_path: Path) -> Plan:
    """The gpu stack with ``langfuseCredentialSeed`` set: Langfuse's credentials derived, not generated."""
    stack_file = (ROOT / "Pulumi.gpu.yaml").read_text()
    (tmp_path / "Pulumi.gpu.yaml").write_text(
        stack_file + "  llm-tracing-infra:langfuseCredentialSeed:\n    secure: v1:x\n"
    )
    return run_program("gpu", program=ROOT / "__main__.py", root=tmp_path)


@pytest.mark.parametrize(
    ("stack", "overrides"),
    [
        ("dev", {}),
        ("gpu", {}),
        ("dev", {"generatedSecrets.provider": "command"}),
        ("gpu", {"generatedSecrets.provider": "command"}),
    ],
    ids=["dev-random", "gpu-random", "dev-command", "gpu-command"],
)
def test_every_credential_output_is_a_secret(stack: str, overrides: dict[str, str]) -> None:
    plan = run_program(stack, overrides) if overrides else stack_plan(stack)
    for name in CREDENTIALS[stack]:
        assert name in plan.outputs, f"{name} is no longer exported"
        assert plan.outputs[name] == SECRET, f"{name} is exported in clear: {plan.outputs[name]!r}"
    clear = [k for k, v in plan.outputs.items() if CREDENTIAL_LIKE.search(k) and v != SECRET]
    assert not clear, f"credential-like outputs in clear: {clear}"


def test_derived_credentials_are_exported_as_secrets(tmp_path: Path) -> None:
    plan = seeded_plan(tmp_path)
    for name in CREDENTIALS["gpu"]:
        assert plan.outputs.get(name) == SECRET, f"{name}: {plan.outputs.get(name)!r}"


@pytest.mark.parametrize("derivation", ["v1", "v2"])
def test_credentials_derived_from_a_real_seed_are_exported_as_secrets(derivation: str) -> None:
    seed = bytes(range(7, 39)).hex()  # what `openssl rand -hex 32` gives: passes the seed check
    plan = run_program(
        "gpu", {"langfuse.credentialDerivation": derivation}, secrets={"langfuseCredentialSeed": seed}
    )
    for name in CREDENTIALS["gpu"]:
        assert plan.outputs.get(name) == SECRET, f"{name}: {plan.outputs.get(name)!r}"
    clear = [k for k, v in plan.outputs.items() if CREDENTIAL_LIKE.search(k) and v != SECRET]
    assert not clear, f"credential-like outputs in clear: {clear}"


@pytest.mark.parametrize("stack", ["dev", "gpu"])
def test_secret_generating_commands_never_log_stdout(stack: str) -> None:
    """``generatedSecrets.provider=command``: the generator's stdout is the secret, so it is not logged."""
    plan = run_program(stack, {"generatedSecrets.provider": "command"})
    commands = [r for r in plan.resources if r.type == "command:local:Command"]
    generators = [r for r in commands if "secrets.choice" in r.inputs["create"]]
    assert len(generators) >= 2, "the command provider made no generator Commands"
    logged = [r.name for r in generators if r.inputs.get("logging") not in ("stderr", "none")]
    assert not logged, f"generator Commands that log stdout: {logged}"


def test_generator_command_marks_stdout_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """The generator asks the engine to keep its stdout secret in state (``additional_secret_outputs``)."""
    made: list[dict[str, Any]] = []

    class Recording:
        def __init__(self, name: str, **kwargs: Any) -> None:
            made.append(kwargs)
            self.stdout = pulumi.Output.from_input("x")

    monkeypatch.setattr(_secrets.command.local, "Command", Recording)
    settings = GeneratedSecrets(provider="command")
    _secrets.generated_secret("probe", settings, opts=pulumi.ResourceOptions())
    (kwargs,) = made
    assert kwargs["logging"] in (command.local.Logging.STDERR, command.local.Logging.NONE)
    assert "stdout" in (kwargs["opts"].additional_secret_outputs or [])


def test_no_output_carries_a_generated_value_in_clear() -> None:
    """Outputs that are not credentials must not embed one either (e.g. a URL with the key in it)."""
    for stack in ("dev", "gpu"):
        text = repr({k: v for k, v in stack_plan(stack).outputs.items() if v != SECRET})
        assert "offline-random-" not in text and "offline-command-" not in text, text
