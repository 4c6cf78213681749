"""Run the real program under Pulumi's mock runtime and capture everything it registers.

The mock monitor records each RegisterResource request as the engine would receive it: type,
name, parent, dependencies, custom/remote, inputs (secrets replaced by ``[secret]``) and the
resource options the engine acts on. Mock outputs echo the inputs plus the few fields a real
provider fills in (names, cluster addresses), so Output-derived wiring resolves as on a cluster.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import runpy
import sys
from collections.abc import Container
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format

from config.loading import SEED_KEYS, ConfigError
from config.stack_file import read_config
from offline import render
from offline import sdk_internals as sdk
from offline.plan import SECRET, Plan, Resource
from offline.source_literals import SourceLiterals, plain_config_strings

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "llm-tracing-infra"
FAKE_SECRET = "offline-placeholder-not-a-real-secret"
"""What a ``secure:`` value of the stack file reads as in the offline preview."""
FAKE_SEED = FAKE_SECRET.encode().hex()
"""What a ``secure:`` seed (``config.loading.SEED_KEYS``) reads as: FAKE_SECRET in hex, 37 bytes, valid as a seed."""

_SIG_KEY = sdk.SIG_KEY
_SECRET_VALUE = sdk.SECRET_SIG
_RESOURCE_REF = sdk.RESOURCE_REF_SIG
_UNKNOWN = sdk.UNKNOWN


# ---------------------------------------------------------------------------------------------
# Stack configuration, as `pulumi config` would hand it to the program
# ---------------------------------------------------------------------------------------------


def stack_config(
    stack: str, overrides: dict[str, str] | None = None, root: Path = ROOT, secrets: dict[str, str] | None = None
) -> tuple[dict[str, str], list[str]]:
    """Config map and secret keys for ``stack``: its stack file, then ``--set`` overrides, then ``--secret``s.

    Overrides behave like ``pulumi config set --path KEY VALUE``: ``vllm.gpuMemoryUtilization=0.5``
    sets one nested key; the value is kept as the string the CLI would store, and JSON objects or
    lists are accepted for object-valued keys. ``secrets`` behave like ``pulumi config set --secret KEY
    VALUE``: top-level keys, stored as secret config (e.g. a real-looking ``langfuseCredentialSeed``).
    """
    path = root / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no stack file {path.name}; known stacks: {', '.join(known_stacks(root))}")
    raw: dict[str, Any] = read_config(path)  # ConfigError with file:line:column on a malformed file
    secret_keys: set[str] = set()
    tree: dict[str, Any] = {}
    for key, value in raw.items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        tree[full], has_secret = _replace_secure(value)
        if has_secret:
            secret_keys.add(full)
            if full.removeprefix(f"{PROJECT}:") in SEED_KEYS and tree[full] == FAKE_SECRET:
                tree[full] = FAKE_SEED
    for key, value in (overrides or {}).items():
        _set_path(tree, key if ":" in key.split(".")[0] else f"{PROJECT}:{key}", _parse_override(value))
    for key, value in (secrets or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        tree[full] = value
        secret_keys.add(full)
    flat = {k: v if isinstance(v, str) else json.dumps(v, sort_keys=True) for k, v in tree.items()}
    flat = {k: _scalar(v) if not isinstance(tree[k], dict | list) else v for k, v in flat.items()}
    return flat, sorted(secret_keys)


def known_stacks(root: Path = ROOT) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def _replace_secure(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return FAKE_SECRET, True
        found = False
        out = {}
        for k, v in value.items():
            out[k], has = _replace_secure(v)
            found |= has
        return out, found
    if isinstance(value, list):
        items = [_replace_secure(v) for v in value]
        return [v for v, _ in items], any(h for _, h in items)
    return value, False


def _parse_override(value: str) -> Any:
    if value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _path_parts(key: str) -> list[str | int]:
    """``a.b[0].c`` -> ``["a", "b", 0, "c"]``, the path syntax of ``pulumi config set --path``."""
    parts: list[str | int] = []
    for segment in key.split("."):
        match = re.fullmatch(r"([^\[\]]+)((?:\[[0-9]+\])*)", segment)
        if not match:
            example = "e.g. gateway.adminAllowedCidrs[0]"
            raise ConfigError([f"--set {key}: {segment!r} is not a key or key[index] ({example})"])
        parts.append(match.group(1))
        parts += [int(index) for index in re.findall(r"\[([0-9]+)\]", match.group(2))]
    return parts


def _set_path(tree: dict[str, Any], key: str, value: Any) -> None:
    parts = _path_parts(key)
    node: Any = tree
    for part, after in zip(parts, [*parts[1:], None], strict=True):
        container: Any = [] if isinstance(after, int) else {}
        if after is None:
            _put(node, part, value, key)
            return
        if isinstance(node, dict):
            current = node.get(part)
        else:
            current = node[part] if isinstance(part, int) and part < len(node) else None
        if not isinstance(current, type(container)):
            current = container
            _put(node, part, current, key)
        node = current


def _put(node: Any, part: str | int, value: Any, key: str) -> None:
    if isinstance(node, dict) or (isinstance(part, int) and part < len(node)):
        node[part] = value
    elif isinstance(part, int) and part == len(node):
        node.append(value)
    else:
        raise ConfigError([f"--set {key}: index {part} is past the end of a list of {len(node)}"])


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---------------------------------------------------------------------------------------------
# Mock runtime
# ---------------------------------------------------------------------------------------------


def _clean(value: Any, literals: Container[str] = (), key: str = "") -> Any:
    """Engine-wire value -> plan value: secrets hidden, references as URNs, integral floats as ints.

    A secret-marked value reads ``[secret]`` whatever its content: a value derived from a secret
    (e.g. HMAC of ``langfuseCredentialSeed``) shares nothing with it, so only the mark can say what
    is secret. The one exception: a value whose every string is a literal of the program or of its
    plain config (``literals``) is shown, since pulumi-kubernetes marks literals in a Secret secret
    too, and the policy pack must see them. A Secret's payload is judged per key (``_clean_payload``).
    """
    if isinstance(value, dict):
        sig = value.get(_SIG_KEY)
        if sig == _SECRET_VALUE:
            inner = value.get("value")
            if key in _PER_KEY_FIELDS:
                return _clean_payload(inner, literals)
            return _clean(inner, literals) if _all_literal(inner, literals) else SECRET
        if sig == _RESOURCE_REF:
            return value.get("urn")
        return {k: _clean(v, literals, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, literals) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == _UNKNOWN:
        return "[unknown]"
    return value


_PER_KEY_FIELDS = ("data", "stringData")
"""Maps the Kubernetes SDK marks secret as a whole (a Secret's payload): judged per key instead."""


def _clean_payload(value: Any, literals: Container[str]) -> Any:
    """A secret-marked payload, per key: a map that mixes secrets and literals keeps its literals visible.

    A map whose every value is secret reads as one ``[secret]``.
    """
    if isinstance(value, dict) and value.get(_SIG_KEY) is None and value:
        cleaned = {k: _clean_payload(v, literals) for k, v in value.items()}
        return SECRET if all(v == SECRET for v in cleaned.values()) else cleaned
    return _clean(value, literals) if _all_literal(value, literals) else SECRET


def _all_literal(value: Any, literals: Container[str]) -> bool:
    strings = _strings(value)
    return bool(strings) and all(_is_literal(s, literals) for s in strings)


def _is_literal(text: str, literals: Container[str]) -> bool:
    """``text`` is written in the program (or its plain config), as is or base64-encoded (a Secret's ``data``).

    Never a value carrying the preview's own secret placeholders: those stand for real secrets.
    """
    if FAKE_SECRET in text or FAKE_SEED in text:
        return False
    if text in literals:
        return True
    try:
        return base64.b64decode(text, validate=True).decode("utf-8") in literals
    except (binascii.Error, ValueError):
        return False


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


class CapturingMonitor(sdk.MockMonitor):
    """The SDK's mock monitor, recording each registration the way the engine receives it."""

    def __init__(self, mocks: pulumi.runtime.Mocks, stack: str, literals: Container[str] = ()) -> None:
        super().__init__(mocks)
        self.stack = stack
        self.literals = literals
        self.captured: list[Resource] = []
        self.options: dict[str, dict[str, Any]] = {}

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        if parent:
            parent_type = parent.split("::")[2]
            type_ = f"{parent_type}${type_}"
        return f"urn:pulumi:{self.stack}::{PROJECT}::{type_}::{name}"

    def RegisterResource(self, request: Any) -> Any:
        if request.type == "pulumi:pulumi:Stack":
            return super().RegisterResource(request)
        urn = self.make_urn(request.parent, request.type, request.name)
        inputs = sdk.deserialize(request.object)
        args = pulumi.runtime.MockResourceArgs(
            typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
            resource_id=request.importId, custom=request.custom or False,
        )
        id_, state = self.mocks.new_resource(args)
        # The engine marks these outputs secret (e.g. RandomPassword.result); the SDK's mock does not.
        for key in request.additionalSecretOutputs:
            if key in state and not (isinstance(state[key], dict) and state[key].get(_SIG_KEY) == _SECRET_VALUE):
                state[key] = {_SIG_KEY: _SECRET_VALUE, "value": state[key]}
        self.resources[urn] = sdk.MockMonitor.ResourceRegistration(urn, id_ or "", state)
        stack_urn = self.make_urn("", "pulumi:pulumi:Stack", f"{PROJECT}-{self.stack}")
        wire = json_format.MessageToDict(request.object, preserving_proto_field_name=True)
        self.captured.append(
            Resource(
                urn=urn,
                type=request.type,
                name=request.name,
                parent=request.parent if request.parent and request.parent != stack_urn else None,
                custom=bool(request.custom),
                remote=bool(request.remote),
                dependencies=sorted(set(request.dependencies)),
                inputs=_clean(wire, self.literals),
            )
        )
        self.options[urn] = {
            "retainOnDelete": bool(request.retainOnDelete) if request.HasField("retainOnDelete") else False,
            "protect": bool(request.protect) if request.HasField("protect") else False,
            "deleteBeforeReplace": bool(request.deleteBeforeReplace),
            "transforms": [c.token for c in request.transforms],
        }
        return sdk.register_response(urn, id_ or "", state)


class OfflineCallbacks:
    """Stands in for the SDK's callback server: records each transform by its function name.

    Under the mock runtime no provider renders a chart, so a chart's transforms never run here;
    the plan shows which transforms a resource carries (``options.transforms``) and tests call
    the transform functions directly.
    """

    def register_transform(self, transform: Any) -> Any:
        return sdk.transform_callback(f"{transform.__module__}.{transform.__qualname__}")


class PlatformMocks(pulumi.runtime.Mocks):
    """Outputs = inputs, plus what providers fill in: object names, addresses, random values."""

    def __init__(self, session: render.Session | None = None) -> None:
        self.session = session or render.Session(ROOT)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        outputs = dict(args.inputs)
        if args.typ.startswith("kubernetes:") and isinstance(outputs.get("metadata"), dict):
            metadata = dict(outputs["metadata"])
            metadata.setdefault("name", args.name)
            if not args.typ.startswith(("kubernetes:core/v1:Namespace", "kubernetes:apiextensions")):
                metadata.setdefault("namespace", "default")
            outputs["metadata"] = metadata
            outputs.update(_status(args.typ, outputs))
        elif args.typ.startswith("random:"):
            outputs.update(_random_outputs(args.typ, args.name))
        elif args.typ == "command:local:Command" or args.typ == "command:remote:Command":
            outputs.update({"stdout": f"offline-command-{args.name}", "stderr": ""})
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        return self.session.call(args.token, args.args)


MOCK_GATEWAY_ADDRESS = "192.0.2.10"
"""TEST-NET-1 address standing in for the gateway's LoadBalancer IP (never routed)."""


def _status(typ: str, outputs: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = outputs["spec"] if isinstance(outputs.get("spec"), dict) else {}
    if typ == "kubernetes:core/v1:Service":
        status: dict[str, Any] = {}
        if spec.get("type") == "LoadBalancer":
            status = {"loadBalancer": {"ingress": [{"ip": MOCK_GATEWAY_ADDRESS}]}}
        return {"spec": {"clusterIP": "10.43.0.10", **spec}, "status": status}
    if typ.endswith(":Gateway") and "gateway.networking.k8s.io" in typ:
        return {"status": {"addresses": [{"type": "IPAddress", "value": MOCK_GATEWAY_ADDRESS}]}}
    return {}


def _random_outputs(typ: str, name: str) -> dict[str, Any]:
    fake = f"offline-random-{name}"
    if typ.endswith("RandomId"):
        return {"hex": fake.encode().hex()[:32], "b64Std": fake, "b64Url": fake, "dec": "0"}
    if typ.endswith("RandomUuid"):
        return {"result": "00000000-0000-4000-8000-000000000000"}
    return {"result": fake}


def _run_path(program: Path) -> None:
    runpy.run_path(str(program), run_name="__main__")


def run_program(
    stack: str,
    overrides: dict[str, str] | None = None,
    program: Path | None = None,
    root: Path = ROOT,
    secrets: dict[str, str] | None = None,
) -> Plan:
    """Run ``program`` (default: the project's ``__main__.py``) for ``stack`` and capture its plan.

    Raises whatever the program raises (``config.ConfigError`` for bad configuration); the
    resources registered up to that point are on ``exc.plan`` for tests that assert none were.
    """
    config_map, secret_keys = stack_config(stack, overrides, root, secrets)
    target = program or root / "__main__.py"
    literals = SourceLiterals([root, target.parent], plain_config_strings(config_map, secret_keys))
    session = render.Session(target.parent)
    mocks = PlatformMocks(session)
    monitor = CapturingMonitor(mocks, stack, literals)
    sdk.reset_stack_root()  # a fresh Stack resource per run: exports must not carry over
    pulumi.runtime.set_mocks(
        mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor, logger=logging.getLogger("offline.program")
    )
    pulumi.runtime.set_all_config(config_map, secret_keys)
    sdk.install_callbacks(OfflineCallbacks())
    saved_path, saved_cwd = list(sys.path), os.getcwd()
    sys.path[:0] = [str(target.parent), str(root)]
    os.chdir(target.parent)
    failure: BaseException | None = None
    try:
        sdk.run_program(lambda: _run_path(target))
    except BaseException as exc:  # re-raised below with the partial plan attached
        failure = exc
    finally:
        sys.path[:] = saved_path
        os.chdir(saved_cwd)
    captured = monitor.captured + render.expand(monitor.captured, f"urn:pulumi:{stack}::{PROJECT}", session)
    plan = build_plan(stack, captured, monitor.options, {} if failure else stack_outputs())
    plan.add(session.findings)
    if failure is not None:
        failure.plan = plan  # type: ignore[attr-defined]
        raise failure
    return plan


def stack_outputs() -> dict[str, Any]:
    """The program's ``pulumi.export`` values, secrets as ``[secret]``, as ``pulumi stack output`` shows them."""
    root = sdk.root_resource()
    exported = dict(getattr(root, "outputs", {}) or {})

    async def resolve() -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, value in exported.items():
            output = pulumi.Output.from_input(value)
            secret = await output.is_secret()
            values[key] = SECRET if secret else _clean(await output.future())
        return values

    return sdk.sync_await(resolve())


def build_plan(
    stack: str, captured: list[Resource], options: dict[str, dict[str, Any]], outputs: dict[str, Any]
) -> Plan:
    """Order resources by URN, fold inherited dependencies in, and compute the deployment waves."""
    resources = sorted(captured, key=lambda r: r.urn)
    index = {r.urn: r for r in resources}
    for resource in resources:
        inherited: set[str] = set(resource.dependencies)
        parent = resource.parent
        while parent in index:
            # A component registers only after its own dependencies are done, and its children
            # need its URN: they inherit every edge the component waits for.
            inherited.update(index[parent].dependencies)
            parent = index[parent].parent
        resource.dependencies = sorted(inherited - {resource.urn})
        resource.options = options.get(resource.urn, {})
    plan = Plan(stack=stack, resources=resources, outputs=outputs)
    plan.waves = compute_waves(plan)
    return plan


def compute_waves(plan: Plan) -> list[list[str]]:
    """Topological levels of the deployable resources: wave N waits only on waves before it."""
    index = plan.by_urn()
    deployable = {r.urn for r in plan.resources if r.is_deployable}
    descendants: dict[str, list[str]] = {}

    def expand(urn: str) -> list[str]:
        if urn in deployable:
            return [urn]
        if urn not in descendants:
            descendants[urn] = [d.urn for d in plan.descendants(urn) if d.urn in deployable]
        return descendants[urn]

    edges = {urn: sorted({d for dep in index[urn].dependencies for d in expand(dep) if d != urn}) for urn in deployable}
    level: dict[str, int] = {}

    def depth(urn: str, trail: frozenset[str] = frozenset()) -> int:
        if urn in level:
            return level[urn]
        if urn in trail:
            raise ValueError(f"dependency cycle through {urn}")
        level[urn] = 1 + max((depth(d, trail | {urn}) for d in edges[urn]), default=-1)
        return level[urn]

    for urn in sorted(deployable):
        depth(urn)
    waves: list[list[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for urn, n in level.items():
        waves[n].append(urn)
    return [sorted(w) for w in waves]
