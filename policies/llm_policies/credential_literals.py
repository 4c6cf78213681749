"""No credential in a place that is stored and shown in clear.

Decides per key and per value:

* every string a resource declares (args, ConfigMaps, annotations, chart values, inline YAML, a
  ``pulumi_command`` script) is checked for the shapes of real credentials: Hugging Face, OpenAI-style,
  GitHub, AWS and Slack keys, Slack webhook URLs, JWTs, PEM private keys, URLs with a password;
* ConfigMap data (config files inside it too), annotations and chart values are checked per key: a
  value under a credential key (``adminPassword``, ``salt``, ``apiKey``...; not ``existingSecret`` or
  ``passwordKey``) is refused, a Pulumi secret included: it would be decrypted into the object;
* a container's command line (after ``$(VAR)`` expansion) must not pass ``--password``/``--api-key``/
  ``--token``-style flags a literal; ``$(VAR)`` from a ``secretKeyRef`` env is fine.

Chart values are judged where the host hands them over (see ``_util.CHART_TYPES``): a v4 chart's
values under ``pulumi preview`` never are, the ConfigMaps, annotations and args it renders are.

Messages name the place and the kind, never the value. Not scanned: a Secret's ``data``/``stringData``
(``k8s-secret-no-literal-data``) and provider configuration (a kubeconfig carries its own client key).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, Severity

from llm_policies._commands import UNRESOLVED, command_line
from llm_policies._credentials import credential_shape, is_credential_key, is_reference, plain_findings, words
from llm_policies._util import (
    CHART_TYPES,
    SECRET_PLACEHOLDER,
    as_dict,
    chart_name,
    container_label,
    containers,
    dig,
    k8s_objects,
    pod_template,
    resource_validator,
    strings,
)

CRD_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"
FIX = (
    "move it into a k8s Secret built from a Pulumi secret (pulumi config set --secret ...) and reference the "
    "Secret by name (secretKeyRef / the chart's existingSecret)"
)


def _exempt(resource_type: str, props: dict[str, Any]) -> set[str]:
    """Prop paths whose strings are not scanned here: Secret payloads."""
    skip: set[str] = set()
    for obj in k8s_objects(resource_type, props):
        if obj.kind == "Secret":
            skip.update(obj.where(field) for field in ("data", "stringData"))
    return skip


def flag_literals(tokens: list[str]) -> Iterator[str]:
    """Credential flags given a literal value: ``--password=x``, ``--api-key x``."""
    for index, token in enumerate(tokens):
        if not token.startswith("--"):
            continue
        flag, sep, value = token.partition("=")
        if not is_credential_key(flag.lstrip("-")) or "file" in words(flag):
            continue
        if not sep:
            following = tokens[index + 1] if index + 1 < len(tokens) else ""
            value = "" if following.startswith("-") else following
        if value.startswith(UNRESOLVED) or is_reference(value) or value == SECRET_PLACEHOLDER:
            continue
        if value and not credential_shape(value):  # a credential-shaped value is reported by the string scan
            yield flag


def object_findings(resource_type: str, props: dict[str, Any], marker: str) -> Iterator[str]:
    for obj in k8s_objects(resource_type, props):
        places: list[tuple[Any, str]] = [(dig(obj.body, "metadata", "annotations"), obj.where("metadata.annotations"))]
        if obj.kind == "ConfigMap":
            places += [(obj.body.get("data"), obj.where("data"))]
        template = pod_template(obj)
        if template and template[0]:
            pod_annotations = obj.where(f"{template[0]}.metadata.annotations")
            places.append((dig(template[1], "metadata", "annotations"), pod_annotations))
        for value, path in places:
            for where, why in plain_findings(value, path, marker):
                if not why.startswith("holds what looks like"):  # shapes: reported by the scan of every string
                    yield f"{obj.describe()}: {where} {why}: {FIX}."
        for path, container in containers(obj):
            for flag in flag_literals(command_line(container)):
                label = container_label(container, path)
                yield f"{obj.describe()} {label}: {path}.args passes {flag} a literal: {FIX}."


def check_credential_literals(resource_type: str, props: dict[str, Any], config: dict[str, Any]) -> Iterator[str]:
    """Credential-shaped strings anywhere; credential keys in clear places; literal credential flags."""
    if resource_type.startswith("pulumi:providers:") or resource_type == CRD_TYPE:
        return  # provider config carries its own client key; a CRD's schema holds no values
    marker = str(config.get("secretMarker") or "")
    skip = _exempt(resource_type, props)
    for path, text in strings(props):
        if any(path == s or path.startswith((s + ".", s + "[")) for s in skip):
            continue
        kind = credential_shape(text)
        if kind:
            yield f"{path or '(resource)'} holds what looks like {kind}: {FIX}."
    yield from object_findings(resource_type, props, marker)
    if resource_type in CHART_TYPES:
        chart = chart_name(props) or "chart"
        for path, text in strings(props.get("values"), "values"):
            if text == SECRET_PLACEHOLDER:
                yield (
                    f"Helm values of '{chart}' carry a Pulumi secret at {path}: the chart renders it into a manifest "
                    f"in clear; {FIX}."
                )
        for where, why in plain_findings(as_dict(props.get("values")), "values", marker or SECRET_PLACEHOLDER):
            if why == "holds a literal credential":
                yield f"Helm values of '{chart}': {where} {why} (the chart renders it in clear): {FIX}."


POLICY = ResourceValidationPolicy(
    name="no-credential-literals",
    description=(
        "No credential in clear: none under credential keys of ConfigMaps, annotations, args or chart values, "
        "no credential-shaped value anywhere."
    ),
    validate=resource_validator(check_credential_literals),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    tags=["security", "secrets"],
    remediation_steps="Rotate the exposed credential, then pass it through a Secret built from a Pulumi secret.",
)
