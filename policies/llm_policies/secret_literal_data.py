"""A Kubernetes Secret's data must come from a Pulumi secret, never from a literal in the program.

What each host lets the policy see (pulumi-policy 1.21, pulumi-kubernetes 4.x):

* ``pulumi preview``: the Python policy SDK unwraps Pulumi secrets before validators run
  (``deserialize_properties`` without ``proxy_secrets``), and the Kubernetes SDK marks every Secret's
  ``data``/``stringData`` secret anyway. So a value from ``config.require_secret`` and a literal typed
  into the program look the same: plaintext. Here the policy judges content, per key: under a
  credential key (password, token, salt, ...), a well-known default or a human-shaped value
  (``hunter2``, ``supersecret123``) is refused; a generated one is not.
* The offline preview replaces values it knows to be Pulumi secrets with a marker, per key (a Secret
  mixing one Pulumi secret with literals keeps its literals). Configured with that marker
  (``secretMarker``; the offline adapter sets it), every other value under a credential key, and
  every value shaped like a credential, is a literal.

Keys that name no credential (``username``, ``host``) may hold literals. Config files held in a key
(``config.yaml``) are judged per key inside.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ResourceValidationPolicy, Severity

from llm_policies._credentials import stored_findings
from llm_policies._util import UNKNOWN, k8s_objects, resource_validator

WHY = {
    "literal": "literal values",
    "default": "a well-known default password",
    "weak": "a literal or weak (human-typed, not generated) credential",
}
FIX = (
    "build the Secret from a Pulumi secret (pulumi config set --secret, or pulumi_random.RandomPassword) "
    "and hand charts its name (existingSecret)"
)


def _decoded(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return value


def check_secret_literal_data(resource_type: str, props: dict[str, Any], config: dict[str, Any]) -> Iterator[str]:
    """Literal (or well-known, human-shaped) credentials in a Secret's ``data``/``stringData``, per key."""
    marker = config.get("secretMarker") or ""
    for obj in k8s_objects(resource_type, props):
        if obj.kind != "Secret" or obj.api_version not in ("v1", ""):
            continue
        for field in ("data", "stringData"):
            block = obj.body.get(field)
            if not isinstance(block, dict):
                continue
            entries = {k: _decoded(v) if field == "data" else v for k, v in block.items() if v is not UNKNOWN}
            found: dict[str, list[str]] = {}
            for where, _, why in stored_findings(entries, obj.where(field), marker):
                found.setdefault(why, []).append(where)
            for why, paths in found.items():
                yield f"{obj.describe()} holds {WHY[why]} in {', '.join(paths)}: {FIX}."


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
