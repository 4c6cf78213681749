"""No credential in a container's environment as a literal ``value``.

An env var named like a credential (``..._KEY``, ``..._TOKEN``, ``..._PASSWORD``, ``..._SECRET``) must
take its value from a Secret (``valueFrom.secretKeyRef``). A ``value`` is written in clear into the
Deployment, readable by anyone who may read workloads, and lands in chart history and ``kubectl
describe`` output; a Pulumi secret passed as ``value`` is no better, it is decrypted into the spec.
Names whose last word is such a credential word count (``HF_TOKEN``, ``OPENAI_API_KEY``);
``TOKENIZERS_PARALLELISM`` or ``SECRET_NAME``-style references do not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ResourceValidationPolicy, Severity

from llm_policies._util import (
    CHART_TYPES,
    UNKNOWN,
    WORKLOAD_KINDS,
    as_dict,
    as_list,
    chart_name,
    container_label,
    containers,
    k8s_objects,
    resource_validator,
    walk,
)

CREDENTIAL_WORD = re.compile(r"(KEY|TOKEN|PASSWORD|PASSWD|SECRET)$")
ENV_VALUE_KEYS = ("env", "extraEnv", "extraEnvVars", "envVars", "environment")
FIX = "take it from a Secret with valueFrom.secretKeyRef (charts: their existingSecret/secretKeyRef setting)"


def is_credential_name(name: Any, allowed: frozenset[str] = frozenset()) -> bool:
    if not isinstance(name, str) or name in allowed:
        return False
    last = re.split(r"[_.\-]", name.upper())[-1]
    return bool(CREDENTIAL_WORD.search(last))


def literal(value: Any) -> bool:
    return value is not UNKNOWN and value is not None and str(value) != ""


def env_entries(node: Any) -> Iterator[tuple[str, Any]]:
    """(name, literal value) of an env list (``[{name, value}]``) or map (``{NAME: value}``)."""
    for entry in as_list(node):
        entry = as_dict(entry)
        if "value" in entry and "valueFrom" not in entry:
            yield str(entry.get("name")), entry["value"]
    for name, value in as_dict(node).items():
        if isinstance(value, str | int | float | bool):
            yield name, value


def check_env_literal_credentials(resource_type: str, props: dict[str, Any], config: dict[str, Any]) -> Iterator[str]:
    """Credential-named env vars with a literal value, in workloads and in chart values."""
    allowed = frozenset(str(n) for n in as_list(config.get("allowedNames")))
    for obj in k8s_objects(resource_type, props):
        if obj.kind not in WORKLOAD_KINDS:
            continue
        for path, container in containers(obj):
            names = [
                str(env.get("name"))
                for env in map(as_dict, as_list(container.get("env")))
                if is_credential_name(env.get("name"), allowed) and literal(env.get("value"))
            ]
            if names:
                yield (
                    f"{obj.describe()} {container_label(container, path)} sets {', '.join(names)} "
                    f"as a literal value: {FIX}."
                )
    if resource_type in CHART_TYPES:
        chart = chart_name(props) or "chart"
        for path, node in walk(props.get("values")):
            for key, block in as_dict(node).items():
                if key not in ENV_VALUE_KEYS:
                    continue
                names = [n for n, v in env_entries(block) if is_credential_name(n, allowed) and literal(v)]
                if names:
                    where = f"{path}.{key}" if path else key
                    yield f"Helm values of '{chart}' set {', '.join(names)} as a literal at values.{where}: {FIX}."


POLICY = ResourceValidationPolicy(
    name="k8s-env-no-literal-credentials",
    description="Env vars named like credentials (KEY/TOKEN/PASSWORD/SECRET) must come from a Secret, not a value.",
    validate=resource_validator(check_env_literal_credentials),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    tags=["security", "secrets"],
    config_schema=PolicyConfigSchema(
        properties={
            "allowedNames": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Env var names that look like credentials but are not (e.g. a public key id).",
            }
        }
    ),
    remediation_steps="Store the value in a k8s Secret built from a Pulumi secret and reference it via secretKeyRef.",
)
