"""Pod Security Admission: every platform namespace is labelled, and the pack refuses workloads below
their namespace's level before the API server would (``pod-security-level``)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from llm_policies import pod_security_level

from components import pod_security
from offline.plan import Plan
from offline.policy_bridge import evaluate
from offline.runner import run_program
from tests.conftest import one, pod_spec

PREFIX = "pod-security.kubernetes.io"


def _levels(plan: Plan) -> dict[str, str]:
    return {ns.k8s_name: ns.metadata["labels"][f"{PREFIX}/enforce"] for ns in plan.k8s("Namespace")}


def _psa_findings(plan: Plan) -> list[str]:
    return [f.message for f in evaluate(plan) if f.check == "policy:pod-security-level"]


def test_every_platform_namespace_carries_pinned_labels(any_plan: Plan) -> None:
    for ns in any_plan.k8s("Namespace"):
        labels = ns.metadata["labels"]
        assert labels[f"{PREFIX}/enforce"] in ("privileged", "baseline", "restricted"), ns.k8s_name
        assert labels[f"{PREFIX}/warn"] == labels[f"{PREFIX}/enforce"]
        assert labels[f"{PREFIX}/audit"] == "restricted"
        for mode in ("enforce", "warn", "audit"):
            assert labels[f"{PREFIX}/{mode}-version"] == pod_security.PSA_VERSION


def test_levels_follow_the_components_and_the_mesh(gpu_plan: Plan) -> None:
    levels = _levels(gpu_plan)
    # Injected by default (istio-init needs NET_ADMIN/NET_RAW) or host-level agents: privileged.
    assert {levels[n] for n in ("tracing", "monitoring", "llm", "nvidia-gpu")} == {"privileged"}
    assert levels["langfuse"] == levels["istio-system"] == "baseline"
    assert levels["litellm"] == levels["cert-manager"] == levels["clickhouse-operator"] == "restricted"


def test_without_injection_the_engines_namespace_is_restricted_and_its_pods_meet_it() -> None:
    plan = run_program("gpu", {"istio.injectNamespaces": '["monitoring"]'})
    assert _levels(plan)["llm"] == "restricted"
    spec = pod_spec(one(plan, ":Deployment", "vllm"))
    assert list(pod_security_level.restricted_problems(spec)) == []
    assert _psa_findings(plan) == []


def test_both_stacks_pass(any_plan: Plan) -> None:
    assert _psa_findings(any_plan) == []


def test_litellm_meets_restricted_in_its_restricted_namespace(dev_plan: Plan) -> None:
    spec = pod_spec(one(dev_plan, ":Deployment", "litellm"))
    assert list(pod_security_level.restricted_problems(spec)) == []
    plan = copy.deepcopy(dev_plan)
    del pod_spec(one(plan, ":Deployment", "litellm"))["containers"][0]["securityContext"]["runAsNonRoot"]
    del pod_spec(one(plan, ":Deployment", "litellm"))["securityContext"]["runAsNonRoot"]
    (message,) = _psa_findings(plan)
    assert "Deployment 'litellm' in namespace 'litellm' (Pod Security 'restricted') would be refused" in message


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"hostNetwork": True, "containers": [{"name": "a"}]}, "hostNetwork: true"),
        ({"volumes": [{"name": "root", "hostPath": {"path": "/"}}], "containers": []}, "hostPath volume 'root'"),
        ({"containers": [{"name": "init", "securityContext": {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}}}]},
         "adds capabilities ['NET_ADMIN', 'NET_RAW']"),
        ({"containers": [{"name": "a", "securityContext": {"privileged": True}}]}, "container 'a': privileged"),
    ],
)
def test_baseline_refuses_host_access_and_extra_capabilities(spec: dict[str, Any], problem: str) -> None:
    assert any(problem in p for p in pod_security_level.baseline_problems(spec))


RESTRICTED_CONTEXT = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "allowPrivilegeEscalation": False,
    "seccompProfile": {"type": "RuntimeDefault"},
    "capabilities": {"drop": ["ALL"]},
}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"allowPrivilegeEscalation": True}, "allowPrivilegeEscalation must be false"),
        ({"runAsNonRoot": False}, "runAsNonRoot must be true"),
        ({"runAsUser": 0}, "runAsUser 0"),
        ({"seccompProfile": {"type": "Unconfined"}}, "seccompProfile must be RuntimeDefault or Localhost"),
        ({"capabilities": {"drop": []}}, "capabilities must drop ALL"),
    ],
)
def test_restricted_refuses_each_missing_field(change: dict[str, Any], problem: str) -> None:
    """A container meeting restricted passes; taking away any one field is named."""
    good = {"containers": [{"name": "a", "securityContext": dict(RESTRICTED_CONTEXT)}]}
    assert list(pod_security_level.restricted_problems(good)) == []
    bad = {"containers": [{"name": "a", "securityContext": {**RESTRICTED_CONTEXT, **change}}]}
    assert any(problem in p for p in pod_security_level.restricted_problems(bad))
