"""Helpers the policies share: reading engine props as plain data, and finding Kubernetes objects in them.

Python policy packs have no typed filter (``validate_resource_of_type``), so each policy looks at the
type token itself. Props arrive as the engine sends them: camelCase, possibly wrapped in the SDK's
unknown-checking proxies. ``plain()`` turns them into dicts and lists once, with unknown values (not
computable during preview) replaced by ``UNKNOWN``, so a policy decides what an unknown means instead
of the first access aborting it. Policies read these plain props and never change them, so a host that
hands one props object to every policy may share one plain copy (``shared_plain_props``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    ReportViolation,
    ResourceValidation,
    ResourceValidationArgs,
    StackValidationArgs,
    proxy,
)
from pulumi_policy.proxy import _DictProxy, _ListProxy

SECRET_PLACEHOLDER = "[secret]"
"""What the offline preview substitutes for a value Pulumi marks secret (``pulumi preview`` sends plaintext)."""

CHART_TYPES = frozenset({
    "kubernetes:helm.sh/v4:Chart",
    "kubernetes:helm.sh/v3:Release",
    "kubernetes:helm.sh/v3:Chart",
})
"""Where policies read chart ``values``. Which values arrive depends on the host: a ``helm.v3.Release``
always carries its values (its inputs, stored with the release). Under ``pulumi preview`` a
``helm.v4.Chart`` (and the SDK's ``helm.v3.Chart``) is a component registered with no properties:
only the objects it renders reach the pack, as its children. Offline, where templates cannot run,
its values stand in for those objects, limited to the keys its templates read
(``offline/chart_reads.py``): a value Helm ignores decides nothing on either host."""
YAML_TYPES = frozenset({
    "kubernetes:kustomize/v2:Directory",
    "kubernetes:yaml/v2:ConfigGroup",
    "kubernetes:yaml/v2:ConfigFile",
    "kubernetes:yaml:ConfigGroup",
    "kubernetes:yaml:ConfigFile",
})
POD_TEMPLATE_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"})
WORKLOAD_KINDS = POD_TEMPLATE_KINDS | {"Pod", "CronJob"}
LONG_RUNNING_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet"})


class _Unknown:
    """A value the engine cannot know during preview (computed from another resource's output)."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Any = _Unknown()


_UNKNOWN_SENTINELS = frozenset({
    proxy.UNKNOWN_BOOLEAN_VALUE, proxy.UNKNOWN_NUMBER_VALUE, proxy.UNKNOWN_STRING_VALUE, proxy.UNKNOWN_ARRAY_VALUE,
    proxy.UNKNOWN_ASSET_VALUE, proxy.UNKNOWN_ARCHIVE_VALUE, proxy.UNKNOWN_OBJECT_VALUE,
})


def _item(container: Any, key: Any) -> Any:
    try:
        return container[key]
    except proxy.UnknownValueError:  # the SDK proxy refuses to hand out unknowns
        return UNKNOWN


def plain(value: Any) -> Any:
    """Props as plain dicts/lists, unknowns as ``UNKNOWN`` (works on SDK proxies and on plain data).

    The common shapes are matched by exact type first: this runs over every prop of every resource.
    """
    kind = type(value)
    if kind is dict:
        return {str(k): plain(v) for k, v in value.items()}
    if kind is list:
        return [plain(v) for v in value]
    if kind is str:
        return UNKNOWN if value in _UNKNOWN_SENTINELS else value
    if kind is _DictProxy or kind is _ListProxy:
        # The SDK's proxy refuses to hand out an unknown; its target (unwrapped with the key the SDK's
        # own serializer uses) holds the engine's sentinel, which the str case reads as UNKNOWN.
        return plain(value["__target"])
    if isinstance(value, Mapping):
        return {str(k): plain(_item(value, k)) for k in value}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [plain(_item(value, i)) for i in range(len(value))]
    if isinstance(value, str) and value in _UNKNOWN_SENTINELS:
        return UNKNOWN
    return value


_SHARED: ContextVar[dict[int, tuple[Any, Any]] | None] = ContextVar("llm_policies_shared_plain", default=None)


@contextmanager
def shared_plain_props() -> Iterator[None]:
    """Inside, ``plain_props`` converts each props object once, however many policies read it.

    For a host that hands the same props object to every policy judging a resource (the offline
    preview does; the SDK's analyzer under ``pulumi preview`` builds a fresh one per policy, so there
    nothing is shared and nothing changes). One copy can serve every policy because none changes it.
    """
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def remembered(memo: dict[int, tuple[Any, Any]], value: Any, convert: Callable[[Any], Any]) -> Any:
    """``convert(value)``, answered from ``memo`` when this very object was converted before."""
    hit = memo.get(id(value))
    if hit is not None and hit[0] is value:
        return hit[1]
    result = convert(value)
    memo[id(value)] = (value, result)  # holding value keeps its id from being reused meanwhile
    return result


def plain_props(props: Any) -> Any:
    """``plain(props)`` of a resource; once per props object inside ``shared_plain_props()``."""
    memo = _SHARED.get()
    return plain(props) if memo is None else remembered(memo, props, plain)


def dig(value: Any, *keys: str | int, default: Any = None) -> Any:
    """``value[k1][k2]...`` through dicts and lists, ``default`` when any step is missing."""
    for key in keys:
        in_list = isinstance(key, int) and isinstance(value, list) and -len(value) <= key < len(value)
        in_dict = isinstance(key, str) and isinstance(value, dict) and key in value
        if in_list or in_dict:
            value = value[key]
        else:
            return default
    return value


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def is_true(value: Any) -> bool:
    """Helm-style truthiness of a flag written as a bool or a string."""
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "yes", "on", "1"))


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every node under ``value`` with its path (``spec.containers[0].env[1].value``)."""
    yield path, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from walk(child, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from walk(child, f"{path}[{index}]")


def strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    for where, node in walk(value, path):
        if isinstance(node, str):
            yield where, node


# ---------------------------------------------------------------------------------------------
# Kubernetes objects
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class K8sObject:
    """One Kubernetes manifest: a typed resource's props, or an entry of a YAML group's ``objs``."""

    kind: str
    api_version: str
    body: dict[str, Any]
    path: str
    """Where the manifest sits in the resource's props (``""`` for the resource itself)."""

    @property
    def name(self) -> str:
        name = dig(self.body, "metadata", "name")
        return name if isinstance(name, str) else "(unnamed)"

    @property
    def namespace(self) -> Any:
        return dig(self.body, "metadata", "namespace")

    @property
    def labels(self) -> dict[str, Any]:
        return as_dict(dig(self.body, "metadata", "labels"))

    def where(self, suffix: str = "") -> str:
        """Prop path for messages, relative to the resource."""
        return ".".join(p for p in (self.path, suffix) if p) or "(resource)"

    def describe(self) -> str:
        return f"{self.kind} '{self.name}'"


def type_kind(resource_type: str) -> tuple[str, str] | None:
    """``kubernetes:apps/v1:Deployment`` -> (``apps/v1``, ``Deployment``); None for non-objects.

    A ``*Patch`` resource (``DeploymentPatch``) counts as its kind: what it sets is applied to the object.
    """
    parts = resource_type.split(":")
    if len(parts) != 3 or parts[0] != "kubernetes" or resource_type in CHART_TYPES | YAML_TYPES:
        return None
    group_version, kind = parts[1], parts[2].removesuffix("Patch")
    if group_version.startswith(("helm.sh/", "yaml", "kustomize")) or kind.endswith("List") or not kind:
        return None
    return (group_version[len("core/") :] if group_version.startswith("core/") else group_version), kind


def k8s_objects(resource_type: str, props: dict[str, Any]) -> list[K8sObject]:
    """The manifests a resource declares: itself when typed, or the ``objs`` of a YAML group."""
    typed = type_kind(resource_type)
    if typed is not None:
        api_version = props.get("apiVersion")
        return [K8sObject(typed[1], api_version if isinstance(api_version, str) else typed[0], props, "")]
    if resource_type in YAML_TYPES:
        found = []
        for index, obj in enumerate(as_list(props.get("objs"))):
            if isinstance(obj, dict) and isinstance(obj.get("kind"), str):
                found.append(K8sObject(obj["kind"], str(obj.get("apiVersion", "")), obj, f"objs[{index}]"))
        return found
    return []


def pod_template(obj: K8sObject) -> tuple[str, dict[str, Any]] | None:
    """(path, template) of a workload's pod: ``metadata`` and ``spec`` of the pods it runs."""
    if obj.kind == "Pod":
        return "", obj.body
    if obj.kind in POD_TEMPLATE_KINDS:
        return "spec.template", as_dict(dig(obj.body, "spec", "template"))
    if obj.kind == "CronJob":
        return "spec.jobTemplate.spec.template", as_dict(dig(obj.body, "spec", "jobTemplate", "spec", "template"))
    return None


def containers(obj: K8sObject, *, init: bool = True) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, container) of every container a workload runs (init containers too unless ``init=False``)."""
    template = pod_template(obj)
    if template is None:
        return
    base, pod = template
    keys = ("containers", "initContainers") if init else ("containers",)
    for key in keys:
        for index, container in enumerate(as_list(dig(pod, "spec", key))):
            if isinstance(container, dict):
                yield obj.where(f"{base}.spec.{key}[{index}]".lstrip(".")), container


def container_label(container: dict[str, Any], path: str) -> str:
    name = container.get("name")
    return f"container '{name}'" if isinstance(name, str) else f"container at {path}"


# ---------------------------------------------------------------------------------------------
# Helm charts
# ---------------------------------------------------------------------------------------------

_CHART_VERSION_SUFFIX = re.compile(r"-v?\d+(\.\d+)*([-+][0-9A-Za-z.-]+)?$")


def chart_name(props: dict[str, Any]) -> str:
    """The chart a Chart/Release installs, from ``chart``: ``repo/istiod``, ``oci://…/istiod``, ``istiod-1.0.tgz``."""
    chart = props.get("chart")
    if not isinstance(chart, str):
        return ""
    base = chart.rstrip("/").rsplit("/", 1)[-1]
    if base.endswith((".tgz", ".tar.gz")):
        base = _CHART_VERSION_SUFFIX.sub("", base.removesuffix(".tgz").removesuffix(".tar.gz"))
    return base


def chart_values(props: dict[str, Any]) -> Any:
    return props.get("values")


# ---------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------


def image_tag(image: str) -> str | None:
    """The tag of an image reference (None when untagged); digests count as pinned (``@sha256``)."""
    if "@" in image:
        return "@" + image.split("@", 1)[1]
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def is_vllm_image(image: Any) -> bool:
    return isinstance(image, str) and "vllm" in image.lower()


# ---------------------------------------------------------------------------------------------
# Validators from plain functions
# ---------------------------------------------------------------------------------------------

Check = Callable[[str, dict[str, Any], dict[str, Any]], Iterable[str]]
"""A resource check: (type token, plain props, policy config) -> violation messages."""


def resource_validator(check: Check) -> ResourceValidation:
    """The SDK validator that runs ``check`` on plain props and reports each message."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in check(args.resource_type, plain_props(args.props), plain(args.get_config())):
            report_violation(message, None)

    validate.__name__ = check.__name__
    validate.__doc__ = check.__doc__
    return validate


@dataclass
class Node:
    """One resource of the stack as a stack policy sees it, with edges as URNs."""

    urn: str
    type: str
    name: str
    props: dict[str, Any]
    parent: str | None
    dependencies: list[str] = field(default_factory=list)


def stack_nodes(args: StackValidationArgs) -> dict[str, Node]:
    """The stack's resources by URN: plain props, parent and dependency URNs."""
    nodes: dict[str, Node] = {}
    for resource in args.resources:
        nodes[resource.urn] = Node(
            urn=resource.urn,
            type=resource.resource_type,
            name=resource.name,
            props=as_dict(plain_props(resource.props)),
            parent=resource.parent.urn if resource.parent is not None else None,
            dependencies=[d.urn for d in resource.dependencies],
        )
    return nodes


def ancestors(nodes: Mapping[str, Node], urn: str) -> Iterator[Node]:
    parent = nodes[urn].parent if urn in nodes else None
    seen: set[str] = set()
    while parent and parent in nodes and parent not in seen:
        seen.add(parent)
        yield nodes[parent]
        parent = nodes[parent].parent
