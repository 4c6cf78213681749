"""Shared fixtures (the captured plans of both stacks, computed once per test session) and helpers
that several test modules use: finding resources in a plan, reading pod specs, a free local port.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "policies"):  # the pack's package, as `pulumi preview --policy-pack` loads it
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import config  # noqa: E402
from offline.plan import Plan, Resource  # noqa: E402
from tests.support import stack_plan  # noqa: E402


@pytest.fixture(scope="session")
def dev_plan() -> Plan:
    return stack_plan("dev")


@pytest.fixture(scope="session")
def gpu_plan() -> Plan:
    return stack_plan("gpu")


@pytest.fixture(params=["dev", "gpu"], scope="session")
def any_plan(request: pytest.FixtureRequest) -> Plan:
    return stack_plan(request.param)


# ---------------------------------------------------------------------------------------------
# Helpers shared by several test modules
# ---------------------------------------------------------------------------------------------


def one(plan: Plan, type_suffix: str, name: str) -> Resource:
    """The one resource whose type ends with ``type_suffix`` and whose Kubernetes name is ``name``."""
    found = [r for r in plan.resources if r.type.endswith(type_suffix) and r.k8s_name == name]
    assert len(found) == 1, f"expected one {type_suffix} {name}, found {[r.urn for r in found]}"
    return found[0]


def resource_named(plan: Plan, name: str) -> Resource:
    """The one resource with Pulumi name ``name``."""
    (found,) = [r for r in plan.resources if r.name == name]
    return found


def pod_spec(deployment: Resource) -> dict[str, Any]:
    return dict(deployment.inputs["spec"]["template"]["spec"])


def container(deployment: Resource) -> dict[str, Any]:
    (main,) = pod_spec(deployment)["containers"]
    return dict(main)


def env_of(c: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env", [])}


def stack_cfg(stack: str, overrides: dict[str, str] | None = None) -> config.StackConfig:
    """The validated config the program sees for ``stack`` (to compute expected endpoints)."""
    from offline.runner import stack_config

    raw, _ = stack_config(stack, overrides)
    plain = {k.split(":", 1)[1]: config._decode(v) for k, v in raw.items()}
    return config.validate(plain, set())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
