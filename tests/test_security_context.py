"""What the serving containers run as, read from the plan (the pod and container securityContext).

The effective user of a container is its own ``runAsUser``/``runAsNonRoot`` when set, else the
pod's. The engines (vLLM, SGLang), the mock engine and LiteLLM promise not to run as root;
LiteLLM's stock image would (its user is root), so its pod names a numeric user and runs on a
read-only root with emptyDirs where the proxy writes.
"""

from __future__ import annotations

from typing import Any

import pytest

from offline.plan import Plan, Resource
from offline.runner import run_program
from tests.support import stack_plan

SGLANG_CANARY = {
    "engine": "vllm",
    "gpu.enabled": "true",
    "sglang.enabled": "true",
    "gateway.canary": '{"primary": "vllm", "canary": "sglang", "percent": 25}',
}


def deployment(plan: Plan, name: str) -> Resource:
    found = [r for r in plan.resources if r.type == "kubernetes:apps/v1:Deployment" and r.k8s_name == name]
    assert len(found) == 1, f"Deployment {name}: {[r.k8s_name for r in found]}"
    return found[0]


def pod_spec(resource: Resource) -> dict[str, Any]:
    return dict(resource.inputs["spec"]["template"]["spec"])


def containers(resource: Resource) -> list[dict[str, Any]]:
    spec = pod_spec(resource)
    return [*spec.get("initContainers", []), *spec["containers"]]


def effective(resource: Resource, container: dict[str, Any], key: str) -> Any:
    own = container.get("securityContext") or {}
    return own[key] if key in own else (pod_spec(resource).get("securityContext") or {}).get(key)


def runs_as_non_root(resource: Resource, container: dict[str, Any]) -> bool:
    """runAsNonRoot in force and, where a user is named, not uid 0."""
    user = effective(resource, container, "runAsUser")
    return effective(resource, container, "runAsNonRoot") is True and user != 0


@pytest.fixture(scope="module")
def sglang_plan() -> Plan:
    return run_program("gpu", SGLANG_CANARY)


NON_ROOT_ENGINES = [("gpu", "vllm"), ("sglang", "vllm"), ("sglang", "sglang"), ("dev", "mock-llm"),
                    ("dev", "litellm")]


@pytest.mark.parametrize(("stack", "name"), NON_ROOT_ENGINES, ids=[f"{s}-{n}" for s, n in NON_ROOT_ENGINES])
def test_engines_do_not_run_as_root(stack: str, name: str, sglang_plan: Plan) -> None:
    plan = sglang_plan if stack == "sglang" else stack_plan(stack)
    resource = deployment(plan, name)
    for container in containers(resource):
        assert runs_as_non_root(resource, container), (
            f"{name}/{container['name']}: runAsNonRoot={effective(resource, container, 'runAsNonRoot')} "
            f"runAsUser={effective(resource, container, 'runAsUser')}"
        )
    main = containers(resource)[-1]
    assert isinstance(effective(resource, main, "runAsUser"), int), "a numeric user: runAsNonRoot needs one to start"


@pytest.mark.parametrize("name", ["vllm", "sglang", "mock-llm", "litellm"])
def test_serving_containers_drop_privileges(name: str, sglang_plan: Plan) -> None:
    plan = stack_plan("dev") if name == "mock-llm" else sglang_plan
    resource = deployment(plan, name)
    assert (pod_spec(resource).get("securityContext") or {}).get("seccompProfile") == {"type": "RuntimeDefault"}
    for container in containers(resource):
        context = container.get("securityContext") or {}
        assert context.get("allowPrivilegeEscalation") is False, f"{name}/{container['name']}"
        assert context.get("capabilities", {}).get("drop") == ["ALL"], f"{name}/{container['name']}"
        assert not context.get("privileged"), f"{name}/{container['name']}"


def test_litellm_writes_only_to_its_emptydirs() -> None:
    """Read-only root; the proxy's writes (HOME, /tmp, the admin UI it lays out) land on emptyDirs."""
    resource = deployment(stack_plan("dev"), "litellm")
    (main,) = containers(resource)
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    volumes = {v["name"]: v for v in pod_spec(resource)["volumes"]}
    writable = {m["mountPath"]: m["name"] for m in main["volumeMounts"] if not m.get("readOnly")}
    assert writable == {"/tmp": "tmp", "/var/lib/litellm": "ui"}
    assert all("emptyDir" in volumes[name] for name in writable.values())
    env = {e["name"]: e.get("value") for e in main["env"]}
    assert env["HOME"] == "/tmp" and env["LITELLM_NON_ROOT"] == "true"
