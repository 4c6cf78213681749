"""Validation of the raw stack values, and the secrets a stack sets.

Secrets never enter the section models: they are top-level keys set with ``pulumi config set --secret``
(see ``SECRET_KEYS``) and reach components as ``pulumi.Output`` values, marked secret.

``load()`` validates everything before a single resource is registered and raises ``ConfigError``
with one line per problem: the key as the user writes it, the value given, and what is allowed.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pydantic import ValidationError

from config import pulumi_runtime
from config.files import file_problems
from config.rules import _cross_checks, namespace_problem
from config.sections import StackConfig
from config.types import PROJECT

# ---------------------------------------------------------------------------------------------
# Secrets: set with `pulumi config set --secret`, never part of the models above
# ---------------------------------------------------------------------------------------------

SECRET_KEYS: dict[str, str] = {
    "hfToken": "Hugging Face token, needed for gated models (vllm.gatedModel / sglang.gatedModel)",
    "grafanaAdminPassword": "Grafana admin password; generated when unset",
    "alertmanagerWebhookUrl": "Slack incoming-webhook or generic webhook URL for Alertmanager",
    "litellmMasterKey": "LiteLLM master key (must start with sk-); generated when unset",
    "k3sSshPrivateKey": "SSH private key for k3s.host (PEM/OpenSSH); the SSH agent is used when unset",
    "langfuseCredentialSeed": "Seed of Langfuse's generated credentials (e.g. `openssl rand -hex 32`): with it a "
    "`pulumi up` after `pulumi destroy` opens the retained Langfuse data again; random when unset",
    "otlpBearerToken": "Bearer token OTLP clients send to the collector (tracing.otlpAuth.enabled); generated when "
    "unset",
}


SEED_KEYS = ("langfuseCredentialSeed",)
"""Secrets credentials are derived from: they must hold at least ``SEED_BYTES`` random bytes."""
SEED_BYTES = 32
_HEX = re.compile(r"[0-9a-fA-F]+")


def _seed_bytes(text: str) -> bytes | None:
    """The bytes a hex or base64 (standard or URL-safe) seed stands for; None when it is neither."""
    if _HEX.fullmatch(text):
        return bytes.fromhex(text[: len(text) // 2 * 2])
    try:
        return base64.b64decode(text.translate(str.maketrans("-_", "+/")), validate=True)
    except (binascii.Error, ValueError):
        return None


TOKEN_KEYS = ("otlpBearerToken",)
"""Secrets sent as HTTP header values and in ``OTEL_EXPORTER_OTLP_HEADERS``: URL-safe characters only."""
_TOKEN = re.compile(r"[A-Za-z0-9._~-]{32,}")


def token_problem(key: str, value: Any) -> str | None:
    """Why ``value`` is no usable bearer token, or None (never shows the value)."""
    if isinstance(value, str) and _TOKEN.fullmatch(value):
        return None
    return (
        f"{PROJECT}:{key}: must be at least 32 characters of A-Z a-z 0-9 . _ ~ - (it travels unencoded in "
        f"OTEL_EXPORTER_OTLP_HEADERS; value not shown: it is a secret); set one with "
        f'`pulumi config set --secret {key} "$(openssl rand -hex 32)"`'
    )


def seed_problem(key: str, value: Any) -> str | None:
    """Why ``value`` is no seed of >= 32 random bytes, or None when it is one (never shows the value)."""
    fix = f'set one with `pulumi config set --secret {key} "$(openssl rand -hex 32)"`'
    seed = _seed_bytes(value) if isinstance(value, str) else None
    if seed is None:
        return f"{PROJECT}:{key}: is neither hex nor base64 (value not shown: it is a secret); {fix}"
    if len(seed) < SEED_BYTES:
        return (
            f"{PROJECT}:{key}: holds {len(seed)} bytes, at least {SEED_BYTES} random bytes are needed "
            f"(64+ hex characters, or base64 of 32+ bytes); {fix}"
        )
    if len(set(seed)) < 8:
        return f"{PROJECT}:{key}: is not random ({len(set(seed))} distinct byte values in {len(seed)}); {fix}"
    return None


@dataclass(frozen=True)
class Secrets:
    """Secret config values as Pulumi secrets; None where the stack does not set them."""

    values: dict[str, pulumi.Output[str]] = field(default_factory=dict)

    def get(self, key: str) -> pulumi.Output[str] | None:
        return self.values.get(key)


class ConfigError(pulumi.RunError):
    """Invalid stack configuration: one line per problem, no traceback."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid stack configuration ({len(problems)} problem(s)):\n{lines}")


def _decode(value: Any) -> Any:
    """Objects and lists arrive JSON-encoded; scalars as strings that pydantic coerces."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


MOVED: dict[tuple[str, ...], str] = {
    ("langfuse", "installCertManager"): "certManager.install (cert-manager now serves the Gateway's HTTPS too)",
    ("langfuse", "certManagerNamespace"): "certManager.namespace",
    ("gateway", "https", "acmeServer"): "gateway.https.acmeEnvironment (staging or production: the two Let's "
                                        "Encrypt directories)",
}
"""Keys that moved to another section: the error names the new key."""


def _describe(error: Any) -> str:
    key = f"{PROJECT}:" + ".".join(str(part) for part in error["loc"])
    given = error.get("input")
    message = str(error["msg"]).removeprefix("Value error, ")
    moved = MOVED.get(tuple(str(part) for part in error["loc"]))
    if error["type"] == "extra_forbidden" and moved:
        return f"{key}: moved to {PROJECT}:{moved} (given {json.dumps(given)})"
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key (given {json.dumps(given)}); check the spelling against config/sections.py"
    if error["type"] == "missing":
        return f"{key}: required, not set"
    given_text = "an object" if isinstance(given, dict | list) and len(json.dumps(given)) > 80 else json.dumps(given)
    return f"{key}: {message} (given {given_text})".replace(f"{PROJECT}:: ", f"{PROJECT}: ")


Rule = Callable[[StackConfig], list[str]]
"""A rule a component states about its own section (e.g. flags it owns); ``__main__`` passes them in."""


def validate(raw: dict[str, Any], secret_keys: set[str], rules: Sequence[Rule] = ()) -> StackConfig:
    """Validate raw ``{section: value}`` config; raise ConfigError listing every problem."""
    problems: list[str] = []
    plain = {k: v for k, v in raw.items() if k not in SECRET_KEYS}
    for key in sorted(set(raw) & set(SECRET_KEYS)):
        if key not in secret_keys:
            problems.append(
                f"{PROJECT}:{key}: is stored in plain text; store it encrypted with "
                f"`pulumi config set --secret {key} <value>`"
            )
    try:
        stack = StackConfig.model_validate(plain)
    except ValidationError as exc:
        problems.extend(_describe(e) for e in exc.errors(include_url=False))
        raise ConfigError(problems) from None
    problems.extend(_cross_checks(stack))
    problems.extend(file_problems(stack))
    for rule in rules:
        problems.extend(rule(stack))
    problems.extend(_missing_secrets(stack, set(raw)))
    problems.extend(p for key in SEED_KEYS if key in raw and (p := seed_problem(key, raw[key])) is not None)
    problems.extend(p for key in TOKEN_KEYS if key in raw and (p := token_problem(key, raw[key])) is not None)
    if "otlpBearerToken" in raw and not stack.tracing.otlp_auth.enabled:
        problems.append(
            f"{PROJECT}:otlpBearerToken: is set but {PROJECT}:tracing.otlpAuth.enabled is false, so the collector "
            "would accept spans without it; enable it (pulumi config set --path tracing.otlpAuth.enabled true) or "
            "remove the secret"
        )
    if problems:
        raise ConfigError(problems)
    return stack


def _missing_secrets(stack: StackConfig, given: set[str]) -> list[str]:
    needed: list[tuple[str, str]] = []
    if stack.monitoring.alertmanager.receiver == "webhook":  # slack without it: a warning, no alerts
        needed.append(
            ("alertmanagerWebhookUrl", f"monitoring.alertmanager.receiver={stack.monitoring.alertmanager.receiver}")
        )
    if stack.vllm.gated_model and "vllm" in stack.engines():
        needed.append(("hfToken", "vllm.gatedModel=true"))
    if stack.sglang.gated_model and "sglang" in stack.engines():
        needed.append(("hfToken", "sglang.gatedModel=true"))
    return [
        f"{PROJECT}:{key}: required by {PROJECT}:{reason}; set it with `pulumi config set --secret {key} <value>`"
        for key, reason in needed
        if key not in given
    ]


def load(rules: Sequence[Rule] = ()) -> tuple[StackConfig, Secrets]:
    """Read and validate this stack's configuration; call before registering any resource."""
    foreign = sorted(p for key in pulumi_runtime.all_keys() if (p := namespace_problem(key)) is not None)
    if foreign:
        raise ConfigError(foreign)
    raw_full = pulumi_runtime.raw_config()
    raw = {k.split(":", 1)[1]: _decode(v) for k, v in raw_full.items()}
    stack = validate(raw, pulumi_runtime.secret_keys(raw_full), rules)
    return stack, Secrets(pulumi_runtime.secret_values(list(SECRET_KEYS)))
