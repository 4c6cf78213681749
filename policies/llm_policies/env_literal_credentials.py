"""No credential in a container's environment as a literal ``value``.

An env var named like a credential (``..._KEY``, ``..._TOKEN``, ``..._PASSWORD``, ``..._SECRET``,
``..._SALT``, ``..._CREDENTIALS``) must take its value from a Secret (``valueFrom.secretKeyRef``) or a
Pulumi secret; a literal is readable by anyone who may read workloads and lands in chart history.
Values shaped like a credential (provider keys, a connection string with a password) count under any
name. ``TOKENIZERS_PARALLELISM`` or ``SECRET_NAME``-style references do not.

Where env is set: every container (init containers too) of a workload, and in chart values under
every key charts use for env (``env``, ``extraEnv``, ``extraEnvVars``, ``additionalEnv``, ``envVars``,
``*Env``...), as a list of ``{name, value}`` or a map ``{NAME: value}`` (where the host hands values
over, see ``_util.CHART_TYPES``; a v4 chart's rendered containers are judged as its children).
Judged per entry, like a Secret's data (see ``k8s-secret-no-literal-data`` for what each host can
tell apart).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ResourceValidationPolicy, Severity

from llm_policies._credentials import credential_shape, is_reference, stored_findings
from llm_policies._util import (
    CHART_TYPES,
    SECRET_PLACEHOLDER,
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

ENV_KEY = re.compile(
    r"(?i)^(extra|additional|global|custom|common)?_?env(ironment)?(_?vars?|_?variables)?$|env(vars)?$"
)
"""The keys charts use for container env: env, extraEnv, extraEnvVars, additionalEnv, envVars, workerEnv..."""
FIX = "take it from a Secret with valueFrom.secretKeyRef (charts: their existingSecret/secretKeyRef setting)"


def env_map(node: Any) -> dict[str, Any]:
    """NAME -> literal value of an env list (``[{name, value}]``) or map (``{NAME: value}``)."""
    found: dict[str, Any] = {}
    for entry in map(as_dict, as_list(node)):
        if "value" in entry and "valueFrom" not in entry and isinstance(entry.get("name"), str):
            found[entry["name"]] = entry["value"]
    for name, value in as_dict(node).items():
        if isinstance(value, str | int | float):
            found[name] = value
        elif isinstance(value, dict) and "value" in value and "valueFrom" not in value:
            found[name] = value["value"]
    return {k: str(v) for k, v in found.items() if v is not None and v is not UNKNOWN}


def env_findings(env: dict[str, Any], marker: str, allowed: frozenset[str]) -> list[str]:
    """Names of env vars holding a literal credential (by name, or by shape whatever the name)."""
    names = [name for _, name, _ in stored_findings(env, "", marker, allowed)]
    for name, value in env.items():
        # A connection string with a password inside is a credential whatever the variable is called.
        shape = credential_shape(value) if value != SECRET_PLACEHOLDER and not is_reference(value) else None
        if shape and not marker and name not in names:
            names.append(name)
    return names


def check_env_literal_credentials(resource_type: str, props: dict[str, Any], config: dict[str, Any]) -> Iterator[str]:
    """Credential env vars with a literal value, in workloads and in chart values."""
    allowed = frozenset(str(n) for n in as_list(config.get("allowedNames")))
    marker = str(config.get("secretMarker") or "")
    for obj in k8s_objects(resource_type, props):
        if obj.kind not in WORKLOAD_KINDS:
            continue
        for path, container in containers(obj):
            names = env_findings(env_map(container.get("env")), marker, allowed)
            if names:
                yield (
                    f"{obj.describe()} {container_label(container, path)} sets {', '.join(names)} as a literal value "
                    f"({path}.env): {FIX}."
                )
    if resource_type in CHART_TYPES:
        chart = chart_name(props) or "chart"
        for path, node in walk(props.get("values"), "values"):
            for key, block in as_dict(node).items():
                if ENV_KEY.search(key) and isinstance(block, list | dict):
                    names = env_findings(env_map(block), marker, allowed)
                    if names:
                        yield f"Helm values of '{chart}' set {', '.join(names)} as a literal at {path}.{key}: {FIX}."


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
            },
            "secretMarker": {
                "type": "string",
                "default": "",
                "description": "What the host puts for Pulumi secrets ('[secret]' offline); empty under the CLI.",
            },
        }
    ),
    remediation_steps="Store the value in a k8s Secret built from a Pulumi secret and reference it via secretKeyRef.",
)
