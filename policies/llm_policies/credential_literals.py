"""No real-looking credential anywhere in resource inputs or Helm values.

Scans every string a resource declares (args, ConfigMaps, annotations, chart values, inline YAML)
for the shapes of real credentials: Hugging Face and OpenAI-style API keys, GitHub and AWS keys,
Slack webhook URLs and PEM private keys. Messages name the place and the kind, never the value.

Not scanned: a Secret's ``data``/``stringData`` (where credentials belong; whether they are literal
is ``k8s-secret-no-literal-data``'s question) and provider configuration (a kubeconfig carries its
own client key). In the offline preview, where Pulumi secrets read as ``[secret]``, a secret placed
in Helm values is flagged too: the chart would render it into a manifest in clear.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, Severity

from llm_policies._util import CHART_TYPES, SECRET_PLACEHOLDER, chart_name, k8s_objects, resource_validator, strings

PATTERNS: dict[str, re.Pattern[str]] = {
    "a Hugging Face token": re.compile(r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{30,}"),
    "an OpenAI-style API key": re.compile(r"(?<![A-Za-z0-9_-])sk-(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])"
                                          r"[A-Za-z0-9_-]{20,}"),
    "a GitHub token": re.compile(r"(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})"),
    "an AWS access key id": re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"),
    "a Slack webhook URL": re.compile(r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{8,}"),
    "a private key": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
}
FIX = (
    "move it into a k8s Secret built from a Pulumi secret (pulumi config set --secret ...) and reference the "
    "Secret by name (secretKeyRef / the chart's existingSecret)"
)


def credential_kind(text: str) -> str | None:
    for kind, pattern in PATTERNS.items():
        if pattern.search(text):
            return kind
    return None


def _exempt(resource_type: str, props: dict[str, Any]) -> set[str]:
    """Prop paths whose strings are not scanned: Secret payloads."""
    skip: set[str] = set()
    for obj in k8s_objects(resource_type, props):
        if obj.kind == "Secret":
            skip.update(obj.where(field) for field in ("data", "stringData"))
    return skip


def check_credential_literals(resource_type: str, props: dict[str, Any], config: dict[str, Any]) -> Iterator[str]:
    """Strings shaped like real credentials in any input; Pulumi secrets inside chart values."""
    if resource_type.startswith("pulumi:providers:"):
        return
    skip = _exempt(resource_type, props)
    for path, text in strings(props):
        if any(path == s or path.startswith((s + ".", s + "[")) for s in skip):
            continue
        kind = credential_kind(text)
        if kind:
            yield f"{path} holds what looks like {kind}: {FIX}."
    if resource_type in CHART_TYPES:
        chart = chart_name(props) or "chart"
        for path, text in strings(props.get("values"), "values"):
            if text == SECRET_PLACEHOLDER:
                yield (
                    f"Helm values of '{chart}' carry a Pulumi secret at {path}: the chart renders it into a manifest "
                    f"in clear; {FIX}."
                )


POLICY = ResourceValidationPolicy(
    name="no-credential-literals",
    description="No real-looking credential (HF, OpenAI, GitHub, AWS, Slack webhook, private key) in inputs or values.",
    validate=resource_validator(check_credential_literals),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    tags=["security", "secrets"],
    remediation_steps="Rotate the exposed credential, then pass it through a Secret built from a Pulumi secret.",
)
