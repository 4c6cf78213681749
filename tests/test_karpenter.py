"""Karpenter GPU capacity on the ``cluster`` stack: NodePool, EC2NodeClass, and the engines selecting them."""

from __future__ import annotations

import pytest

import config
from lab.placement import tolerates
from offline.plan import Plan
from offline.runner import run_program
from tests.conftest import one, pod_spec, resource_named

KARPENTER = {
    "cloud.karpenter.enabled": "true",
    "cloud.karpenter.clusterName": "llm-prod",
    "cloud.karpenter.nodeRole": "KarpenterNodeRole-llm-prod",
    "cloud.karpenter.amiAlias": "al2023@v20251120",
}


@pytest.fixture(scope="module")
def plan() -> Plan:
    return run_program("cluster", KARPENTER)


def test_node_pool_is_the_dedicated_gpu_pool(plan: Plan) -> None:
    pool = one(plan, "NodePool", "gpu")
    assert pool.api_version == "karpenter.sh/v1"
    spec = pool.inputs["spec"]
    template = spec["template"]
    assert template["metadata"]["labels"] == {"nvidia.com/gpu.present": "true"}
    (taint,) = template["spec"]["taints"]
    assert taint == {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
    requirements = {r["key"]: r["values"] for r in template["spec"]["requirements"]}
    assert requirements["karpenter.k8s.aws/instance-family"] == ["g5", "g6", "g6e"]
    assert requirements["karpenter.sh/capacity-type"] == ["spot", "on-demand"]
    assert {r["operator"] for r in template["spec"]["requirements"]} == {"In"}
    assert template["spec"]["nodeClassRef"] == {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "gpu"}
    disruption = {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "10m", "budgets": [{"nodes": "10%"}]}
    assert spec["disruption"] == disruption
    assert spec["limits"]["nvidia.com/gpu"] == "8"
    # The engines tolerate what the pool's nodes carry.
    vllm = pod_spec(resource_named(plan, "vllm-deployment"))
    assert any(tolerates(t, taint) for t in vllm["tolerations"])
    assert vllm["nodeSelector"] == {"nvidia.com/gpu.present": "true", "karpenter.sh/nodepool": "gpu"}


def test_node_class_names_role_ami_and_discovery_tags(plan: Plan) -> None:
    node_class = one(plan, "EC2NodeClass", "gpu")
    assert node_class.api_version == "karpenter.k8s.aws/v1"
    spec = node_class.inputs["spec"]
    assert spec["role"] == "KarpenterNodeRole-llm-prod"
    assert spec["amiSelectorTerms"] == [{"alias": "al2023@v20251120"}]
    assert spec["subnetSelectorTerms"] == spec["securityGroupSelectorTerms"] == [
        {"tags": {"karpenter.sh/discovery": "llm-prod"}}
    ]
    assert spec["metadataOptions"]["httpTokens"] == "required"


def test_custom_resources_wait_for_the_crd_chart(plan: Plan) -> None:
    crds = resource_named(plan, "gpu-capacity-crds")
    for kind in ("NodePool", "EC2NodeClass"):
        assert plan.depends_on(one(plan, kind, "gpu").urn, crds.urn)
    assert not [r for r in plan.charts() if r.name == "gpu-capacity-controller"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"cloud.karpenter.amiAlias": "al2023@latest"}, "must be a pinned alias"),
        ({"cloud.karpenter.nodeRole": "arn:aws:iam::123456789012:role/x"}, "an IAM role name (not an ARN)"),
        ({"cloud.karpenter.consolidateAfter": "1d"}, "a Karpenter duration"),
        ({"cloud.karpenter.disruptionBudgetNodes": "150%"}, "must be a count or a percent"),
        ({"cloud.karpenter.installController": "true"}, "controllerRoleArn is required"),
        ({"gpu.nodePool.dedicated": "false"}, "cloud.karpenter.enabled=true needs"),
    ],
)
def test_bad_karpenter_settings_are_named(overrides: dict[str, str], expected: str) -> None:
    with pytest.raises(config.ConfigError) as caught:
        run_program("cluster", {**KARPENTER, **overrides})
    assert any(expected in p for p in caught.value.problems), caught.value.problems
    assert caught.value.plan.resources == []  # type: ignore[attr-defined]
