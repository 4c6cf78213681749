"""Config hygiene: credentials pasted into ``Pulumi.<stack>.yaml`` in plain text.

Secret config keys (``config.SECRET_KEYS``) are already refused in plain text by ``config.load``;
this looks at every *other* value, at any depth, for something that looks like a credential by
its shape (a Hugging Face or OpenAI-style token, a Slack webhook, a private key) or by its key
name (``password``, ``token``, ``apiKey``...), stored without ``secure:``. The finding names the
key and what it looks like, never the value.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from offline import runner
from offline.plan import Finding, Plan

CHECK = "config-hygiene"

VALUE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{20,}")),
    ("an API key (sk-...)", re.compile(r"\bsk-[A-Za-z0-9_-]{16,}")),
    ("a Slack webhook URL", re.compile(r"https://hooks\.slack\.com/(services|workflows|triggers)/\S+")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}")),
    ("an AWS access key id", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    ("credentials in a URL", re.compile(r"://[^/\s:@]+:[^/\s@]+@")),
)
SENSITIVE_WORDS = frozenset({"password", "passwd", "passphrase", "secret", "token", "credential", "credentials"})
KEY_QUALIFIERS = frozenset({"api", "access", "master", "private", "secret", "ssh", "signing"})
"""``<qualifier>Key`` names a credential (``apiKey``, ``privateKey``); a bare ``key`` does not."""


def key_words(key: str) -> list[str]:
    """``litellmMasterKey`` / ``master_key`` / ``master-key`` -> ``[..., "master", "key"]``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", key)
    return [w for w in re.split(r"[\s_\-.]+", spaced.lower()) if w]


def credential_name(key: str) -> bool:
    words = key_words(key)
    if not words:
        return False
    last = words[-1]
    return last in SENSITIVE_WORDS or (last == "key" and len(words) > 1 and words[-2] in KEY_QUALIFIERS)


def plain_credentials(node: Any, path: str) -> list[tuple[str, str]]:
    """``(key path, what it looks like)`` for every plain-text credential under ``node``."""
    if isinstance(node, dict):
        if set(node) == {"secure"}:
            return []
        return [hit for key, value in node.items() for hit in plain_credentials(value, f"{path}.{key}")]
    if isinstance(node, list):
        return [hit for i, value in enumerate(node) for hit in plain_credentials(value, f"{path}[{i}]")]
    if not isinstance(node, str) or not node.strip():
        return []
    for kind, pattern in VALUE_PATTERNS:
        if pattern.search(node):
            return [(path, kind)]
    last_key = re.sub(r"\[\d+\]$", "", path).rsplit(".", 1)[-1].rsplit(":", 1)[-1]
    if credential_name(last_key):
        return [(path, f"a value of a credential-named key ({last_key})")]
    return []


def scan_stack_file(path: Path) -> list[Finding]:
    """Advisory findings for the plain-text credentials of one stack file (none if it is absent)."""
    if not path.exists():
        return []
    document = yaml.safe_load(path.read_text()) or {}
    findings = []
    for key, value in sorted((document.get("config") or {}).items()):
        for where, kind in plain_credentials(value, key):
            name = where.removeprefix(f"{runner.PROJECT}:")
            path_flag = " --path" if "." in name or "[" in name else ""
            findings.append(Finding(
                CHECK, "advisory", None,
                f"{path.name}: {where} looks like {kind} stored in plain text; store it encrypted with "
                f"`pulumi config set --secret{path_flag} '{name}' <value>` (and rotate it if the file was shared)",
            ))
    return findings


def check_plaintext_credentials(plan: Plan) -> list[Finding]:
    return scan_stack_file(runner.ROOT / f"Pulumi.{plan.stack}.yaml")


CHECKS = [check_plaintext_credentials]
