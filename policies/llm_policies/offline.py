"""Run the pack over a captured plan exactly as ``pulumi preview --policy-pack`` runs it.

The offline preview has no engine, so this module plays the engine's side of the analyzer protocol:
it builds the same gRPC requests (``ConfigureAnalyzerRequest``, one ``AnalyzeRequest`` per resource,
one ``AnalyzeStackRequest``) and hands them to the SDK's own analyzer servicer, the object that
``PolicyPack(...)`` serves to the CLI. Deserialization, the unknown-value proxies, enforcement
levels from config, ``not_applicable`` and the violation records are therefore the SDK's, not a
re-implementation. Only two things differ from the engine, both documented where they act:

* Pulumi secrets read as ``[secret]`` (the engine sends plaintext); ``k8s-secret-no-literal-data``
  gets ``secretMarker: "[secret]"`` so it can tell them from literals.
* ``retainOnDelete``, which the engine does not send to analyzers, is passed on
  ``args.opts.retain_on_delete`` from the plan's ``options``.

One thing differs in cost, not in result: the SDK converts a request's properties (protobuf to dict,
deserialize, unknown-checking proxy) once for every policy that judges it, and each policy copies
them to plain data again; here each request is converted once and its plain copy shared
(``converted_once``): those repeats were most of the preview's policy time. The policies and the
SDK's analyzer code are the same under both hosts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pulumi_policy.policy as sdk_policy
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel, Policy, PolicyResourceOptions
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from llm_policies import PACK_DEFAULT_LEVEL, PACK_NAME, POLICIES
from llm_policies._util import SECRET_PLACEHOLDER, remembered, shared_plain_props

UNKNOWN_PLACEHOLDER = "[unknown]"
"""How the plan writes a value unknown at preview time; sent to the SDK as the engine's sentinel."""

OFFLINE_DEFAULTS: dict[str, dict[str, Any]] = {
    "k8s-secret-no-literal-data": {"secretMarker": SECRET_PLACEHOLDER},
    "k8s-env-no-literal-credentials": {"secretMarker": SECRET_PLACEHOLDER},
    "no-credential-literals": {"secretMarker": SECRET_PLACEHOLDER},
}
"""Config the offline host sets because it can see more than the engine (overridable by ``config``)."""


def pack_version() -> str:
    """The version the CLI would report: ``PulumiPolicy.yaml``'s ``version``."""
    text = (Path(__file__).resolve().parent.parent / "PulumiPolicy.yaml").read_text()
    found = re.search(r"^version:\s*['\"]?([^'\"\s]+)", text, re.MULTILINE)
    return found.group(1) if found else "0.0.1"


class OfflineAnalyzer(_PolicyAnalyzerServicer):
    """The SDK's analyzer servicer, plus the one option the engine never sends."""

    def __init__(self, retain_on_delete: Mapping[str, bool] | None = None) -> None:
        super().__init__(PACK_NAME, pack_version(), POLICIES, PACK_DEFAULT_LEVEL)
        self._retain_on_delete = dict(retain_on_delete or {})

    def _get_resource_options(self, request: Any) -> PolicyResourceOptions:
        opts = super()._get_resource_options(request)
        # Not a field of the engine's AnalyzerResourceOptions: policies read it with getattr.
        opts.retain_on_delete = self._retain_on_delete.get(request.urn)  # type: ignore[attr-defined]
        return opts


# ---------------------------------------------------------------------------------------------
# One conversion per request
# ---------------------------------------------------------------------------------------------

SDK_CONVERSIONS = ("deserialize_properties", "unknown_checking_proxy")
"""Names ``_PolicyAnalyzerServicer.Analyze``/``AnalyzeStack`` call, per policy, on each request's
properties after ``json_format.MessageToDict`` (pulumi_policy 1.21.0, ``policy.py``)."""


def _once_per_object(convert: Callable[..., Any], memo: dict[int, tuple[Any, Any]]) -> Callable[..., Any]:
    """``convert`` that answers a repeated call on the same object with its first result."""

    def once(value: Any, *rest: Any, **options: Any) -> Any:
        if rest or options:  # another use (the remediation path's secret proxies): not shared
            return convert(value, *rest, **options)
        return remembered(memo, value, convert)

    return once


class _JsonFormatOnce:
    """``json_format`` as the SDK's analyzer sees it inside ``converted_once``.

    ``MessageToDict`` converts each message once, and answers a message equal to one already
    converted (a resource's properties in its ``AnalyzeRequest`` and again in the
    ``AnalyzeStackRequest``) with the first dict: comparing serialized bytes costs far less.
    """

    def __init__(self) -> None:
        self._by_content: dict[bytes, Any] = {}
        self.MessageToDict = _once_per_object(self._convert, {})

    def _convert(self, message: Any, *rest: Any, **options: Any) -> Any:
        if rest or options:
            return json_format.MessageToDict(message, *rest, **options)
        key = message.DESCRIPTOR.full_name.encode() + b"\0" + message.SerializeToString(deterministic=True)
        if key not in self._by_content:
            self._by_content[key] = json_format.MessageToDict(message)
        return self._by_content[key]

    def __getattr__(self, name: str) -> Any:
        return getattr(json_format, name)


@contextmanager
def converted_once() -> Iterator[None]:
    """Inside, the SDK's analyzer converts each request's properties once, not once per policy.

    Every policy judging a resource then gets the same (read-only) props proxy, and the policies'
    ``plain_props`` copies it once. The SDK's own functions still do each conversion; only repeats
    of a conversion of the same message (or of an equal one) are answered from the first. Offline
    only: the analyzer served to the CLI is untouched.
    """
    saved = {name: getattr(sdk_policy, name) for name in ("json_format", *SDK_CONVERSIONS)}
    sdk_policy.json_format = _JsonFormatOnce()  # type: ignore[assignment]
    for name in SDK_CONVERSIONS:
        setattr(sdk_policy, name, _once_per_object(saved[name], {}))
    try:
        with shared_plain_props():
            yield
    finally:
        for name, value in saved.items():
            setattr(sdk_policy, name, value)


# ---------------------------------------------------------------------------------------------
# Config: the `--policy-pack-config` file format, resolved as the CLI resolves it
# ---------------------------------------------------------------------------------------------


def _level_and_props(entry: Any) -> tuple[str | None, dict[str, Any]]:
    if entry is None:
        return None, {}
    if isinstance(entry, str):
        return entry, {}
    if isinstance(entry, Mapping):
        props = {k: v for k, v in entry.items() if k != "enforcementLevel"}
        return entry.get("enforcementLevel"), props
    raise ValueError(f"policy config entries are a level or an object, got {entry!r}")


def _schema_defaults(policy: Policy) -> dict[str, Any]:
    schema = policy.config_schema
    if schema is None:
        return {}
    return {key: spec["default"] for key, spec in schema.properties.items() if "default" in spec}


def configure_request(config: Mapping[str, Any] | None) -> Any:
    """``{"all": level, "<policy>": level | {"enforcementLevel": ..., <props>}}`` -> ConfigureAnalyzerRequest."""
    config = dict(config or {})
    names = {policy.name for policy in POLICIES}
    unknown = sorted(set(config) - names - {"all"})
    if unknown:
        raise ValueError(f"policy config names unknown policies {unknown}; known: {sorted(names)}")
    all_level, _ = _level_and_props(config.get("all"))
    request = proto.ConfigureAnalyzerRequest()
    for policy in POLICIES:
        level, props = _level_and_props(config.get(policy.name))
        chosen = level or all_level or (policy.enforcement_level or PACK_DEFAULT_LEVEL).value
        properties = struct_pb2.Struct()
        properties.update({**_schema_defaults(policy), **OFFLINE_DEFAULTS.get(policy.name, {}), **props})
        request.policyConfig[policy.name].CopyFrom(
            proto.PolicyConfig(enforcementLevel=_proto_level(EnforcementLevel(chosen)), properties=properties)
        )
    return request


def _proto_level(level: EnforcementLevel) -> Any:
    return {
        EnforcementLevel.ADVISORY: proto.ADVISORY,
        EnforcementLevel.MANDATORY: proto.MANDATORY,
        EnforcementLevel.REMEDIATE: proto.REMEDIATE,
        EnforcementLevel.DISABLED: proto.DISABLED,
    }[level]


_LEVEL_NAMES = {proto.ADVISORY: "advisory", proto.MANDATORY: "mandatory", proto.REMEDIATE: "mandatory"}


# ---------------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------------


def _wire(value: Any) -> Any:
    """Plan value -> engine wire value: unknown placeholders become the engine's unknown sentinel."""
    if isinstance(value, dict):
        return {str(k): _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    if value == UNKNOWN_PLACEHOLDER:
        return UNKNOWN_STRING_VALUE
    return value


def _properties(resource: Mapping[str, Any]) -> Any:
    struct = struct_pb2.Struct()
    struct.update(_wire(dict(resource.get("inputs") or {})))
    return struct


def _options(resource: Mapping[str, Any]) -> Any:
    options = resource.get("options") or {}
    return proto.AnalyzerResourceOptions(protect=bool(options.get("protect")), parent=resource.get("parent") or "")


def _analyzed(resource: Mapping[str, Any]) -> bool:
    """The engine analyzes every resource it registers (the plan leaves the Stack out already)."""
    return str(resource["type"]) != "pulumi:pulumi:Stack"


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def evaluate(resources: list[dict[str, Any]], config: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Violations of every policy over the captured ``resources`` (plan.json's resource dicts).

    ``config`` mirrors ``pulumi preview --policy-pack-config``: ``{"all": "advisory"}``,
    ``{"<policy>": "disabled"}`` or ``{"<policy>": {"enforcementLevel": ..., <property>: ...}}``.
    Returns ``{"policy", "level", "urn", "message"}`` per violation, in pack order.
    """
    analyzed = [r for r in resources if _analyzed(r)]
    analyzer = OfflineAnalyzer(
        {r["urn"]: bool((r.get("options") or {}).get("retainOnDelete")) for r in analyzed}
    )
    analyzer.Configure(configure_request(config), None)
    properties = [_properties(r) for r in analyzed]

    diagnostics: list[tuple[Any, str]] = []
    with converted_once():
        for resource, props in zip(analyzed, properties, strict=True):
            request = proto.AnalyzeRequest(
                type=resource["type"], properties=props, urn=resource["urn"],
                name=resource["name"], options=_options(resource),
            )
            diagnostics.extend((d, resource["urn"]) for d in analyzer.Analyze(request, None).diagnostics)

        stack = proto.AnalyzeStackRequest(resources=[
            proto.AnalyzerResource(
                type=r["type"], properties=props, urn=r["urn"], name=r["name"], options=_options(r),
                parent=r.get("parent") or "", dependencies=list(r.get("dependencies") or []),
            )
            for r, props in zip(analyzed, properties, strict=True)
        ])
        diagnostics.extend((d, "") for d in analyzer.AnalyzeStack(stack, None).diagnostics)

    order = {policy.name: index for index, policy in enumerate(POLICIES)}
    violations = [
        {
            "policy": d.policyName,
            "level": _LEVEL_NAMES.get(d.enforcementLevel, "advisory"),
            "urn": d.urn or fallback_urn or None,
            # The engine prints "<description>\n<message>"; the message alone says what to do.
            "message": d.message.split("\n", 1)[1] if "\n" in d.message else d.message,
        }
        for d, fallback_urn in diagnostics
    ]
    violations.sort(key=lambda v: order.get(v["policy"], len(order)))
    return violations
