"""Every private Pulumi SDK detail the offline preview relies on, in one place.

Checked against the pinned SDK, pulumi 3.259.0 (``pyproject.toml``): on an SDK bump, re-read these
against the new SDK first. What is private here and why it is needed:

* ``pulumi.runtime.mocks.MockMonitor``: the SDK's mock resource monitor, subclassed to record each
  registration as the engine receives it (parent, dependencies, options).
* ``rpc.serialize_properties``/``deserialize_properties`` and the wire signatures below: how
  secrets, resource references and unknowns travel between the SDK and the engine.
* ``sync_await._sync_await``/``_ensure_event_loop`` and ``stack.run_pulumi_func``: run a program
  to completion outside the engine, as the SDK's own test helpers do.
* ``settings.ROOT``/``SETTINGS.callbacks``/``get_root_resource``: a fresh Stack resource per run, a
  stand-in for the callback server (transforms), and the stack's exports.
* ``runtime.resource._get_stack_trace``: the call stack the SDK sends with every registration, for
  the engine to show where a resource was declared; the mock monitor drops it, so the offline run
  sends an empty one (reading the source lines of every frame cost about a tenth of the program).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pulumi
from pulumi.runtime import mocks as _mocks
from pulumi.runtime import resource as _resource
from pulumi.runtime import rpc as _rpc
from pulumi.runtime.proto import callback_pb2, resource_pb2, source_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

SDK_VERSION = "3.259.0"
"""The pulumi SDK these internals were checked against."""

SIG_KEY = "4dabf18193072939515e22adb298388d"
"""Key of the special-value signature in a serialized property map."""
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_REF_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""How an unknown (preview-time) value is serialized."""

MockMonitor = _mocks.MockMonitor
sync_await = _sync_await


def deserialize(properties: Any) -> Any:
    """A RegisterResource request's property struct as Python values (needs an event loop)."""
    _ensure_event_loop()
    return _rpc.deserialize_properties(properties)


def register_response(urn: str, id_: str, state: dict[str, Any]) -> Any:
    """The RegisterResourceResponse the engine would send back, with ``state`` as outputs."""
    state_proto = _sync_await(_rpc.serialize_properties(state, {}))
    return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=state_proto)


def transform_callback(token: str) -> Any:
    """A callback reference as the callback server would hand it to the engine."""
    return callback_pb2.Callback(target="offline", token=token)


def run_program(program: Callable[[], Any]) -> None:
    """Run ``program`` like the language host does, until every Output it registered has settled."""
    with without_stack_traces():
        _sync_await(run_pulumi_func(program))


@contextlib.contextmanager
def without_stack_traces() -> Iterator[None]:
    """Registrations carry an empty call stack while inside (only the engine's display reads it)."""
    saved = _resource._get_stack_trace
    _resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        _resource._get_stack_trace = saved


def reset_stack_root() -> None:
    """Forget the previous run's Stack resource, so exports do not carry over between runs."""
    pulumi.runtime.settings.ROOT.set(None)


def install_callbacks(callbacks: Any) -> None:
    """Stand in for the SDK's callback server (it would otherwise start a gRPC server)."""
    pulumi.runtime.settings.SETTINGS.callbacks = callbacks


def root_resource() -> Any:
    """The Stack resource of the current run (its ``outputs`` are the program's exports)."""
    return pulumi.runtime.settings.get_root_resource()
