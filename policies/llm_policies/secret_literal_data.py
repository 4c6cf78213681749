"""A Kubernetes Secret's data must come from a Pulumi secret, never from a literal in the program.

What each host lets the policy see (pulumi-policy 1.21, pulumi-kubernetes 4.x):

* ``pulumi preview``: the Python policy SDK unwraps Pulumi secrets before validators run
  (``deserialize_properties`` without ``proxy_secrets``), and the Kubernetes SDK marks every Secret's
  ``data``/``stringData`` secret anyway. So a value from ``config.require_secret`` and a literal typed
  into the program look the same: plaintext. Here the policy can only judge content: it flags
  well-known default passwords (``prom-operator``, ``changeme``, ...) under password-like keys,
  such as a chart's rendered Secret left at its default.
* The offline preview replaces values it knows to be Pulumi secrets with a marker. Configured with
  that marker (``secretMarker``; the offline adapter sets it), every other value is a literal.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ResourceValidationPolicy, Severity

from llm_policies._util import UNKNOWN, k8s_objects, resource_validator

KNOWN_DEFAULTS = frozenset({
    "admin", "changeit", "change-me", "changeme", "letmein", "minio123", "minioadmin", "password", "postgres",
    "prom-operator", "root", "secret", "test", "123456",
})
PASSWORD_LIKE_KEY = re.compile(r"(?i)pass|pwd|secret|token|key|cred")
FIX = (
    "build the Secret from a Pulumi secret (pulumi config set --secret, or pulumi_random.RandomPassword) "
    "and hand charts its name (existingSecret)"
)


def _decoded(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return value


def check_secret_literal_data(resource_type: str, props: dict[str, Any], config: dict[str, Any]) -> Iterator[str]:
    """Literal (or well-known default) values in a Secret's ``data``/``stringData``."""
    marker = config.get("secretMarker") or ""
    for obj in k8s_objects(resource_type, props):
        if obj.kind != "Secret" or obj.api_version not in ("v1", ""):
            continue
        literal: list[str] = []
        defaults: list[str] = []
        for field in ("data", "stringData"):
            block = obj.body.get(field)
            if block is None or block is UNKNOWN or (marker and block == marker):
                continue
            entries = block.items() if isinstance(block, dict) else [("*", block)]
            for key, value in entries:
                if value is UNKNOWN or value is None or (marker and value == marker):
                    continue
                if marker:
                    literal.append(f"{field}.{key}")
                    continue
                text = _decoded(value) if field == "data" and isinstance(value, str) else str(value)
                if PASSWORD_LIKE_KEY.search(key) and text.strip().lower() in KNOWN_DEFAULTS:
                    defaults.append(f"{field}.{key}")
        if literal:
            yield f"{obj.describe()} holds literal values in {', '.join(literal)}: {FIX}."
        if defaults:
            yield f"{obj.describe()} holds a well-known default password in {', '.join(defaults)}: {FIX}."


POLICY = ResourceValidationPolicy(
    name="k8s-secret-no-literal-data",
    description="Kubernetes Secret data must come from Pulumi secrets, not literals or well-known defaults.",
    validate=resource_validator(check_secret_literal_data),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    tags=["security", "secrets"],
    config_schema=PolicyConfigSchema(
        properties={
            "secretMarker": {
                "type": "string",
                "default": "",
                "description": (
                    "The string the host substitutes for Pulumi secret values ('[secret]' in the offline "
                    "preview). Leave empty under pulumi preview, which hands policies the plaintext."
                ),
            }
        }
    ),
    remediation_steps="Create the Secret with string_data from a Pulumi secret Output; never type the value in.",
)
