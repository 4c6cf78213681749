"""GpuCapacity: GPU nodes on demand on EKS, a Karpenter ``NodePool`` and its ``EC2NodeClass``.

The pool's nodes carry the dedicated GPU pool's label and taint (``gpu.nodePool``), so the GPU
workloads that select and tolerate that pool land on them and nothing else does; the engines also
select ``karpenter.sh/nodepool`` (``ENGINE_SELECTOR``). Consolidation, expiry, a disruption budget
and limits bound what the pool costs and how often it moves a model server.

What this program cannot create or check: the EKS cluster, the node IAM role (``cloud.karpenter.nodeRole``,
Karpenter makes its instance profile), the controller's IAM permissions (IRSA or Pod Identity),
and the discovery tags on subnets and security groups; the README lists them. The CRDs come from
the ``karpenter-crd`` chart (``installCrds``); the controller chart only with ``installController``.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict

import versions
from components._k8s import TOKEN_PREFIX, labels
from components.charts import helm_chart
from config.capacity import GpuNodePool, Karpenter
from config.sections import Charts

POOL = "gpu"
"""Name of the NodePool and of its EC2NodeClass."""
NODE_POOL_LABEL = "karpenter.sh/nodepool"
ENGINE_SELECTOR = {NODE_POOL_LABEL: POOL}
"""What engines add to their node selector when Karpenter provides the GPU nodes."""
NODE_CLASS_GROUP = "karpenter.k8s.aws"


class GpuCapacityArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    settings: Karpenter
    pool: GpuNodePool
    """The dedicated GPU pool: its label goes on every node, its taint too."""
    crd_chart: versions.ChartPin
    controller_chart: versions.ChartPin
    charts: Charts


def node_pool_spec(k: Karpenter, pool: GpuNodePool) -> dict[str, Any]:
    """karpenter.sh/v1 NodePool spec: GPU instance families and sizes, tainted and labelled as the pool."""
    return {
        "template": {
            "metadata": {"labels": dict(pool.selector())},
            "spec": {
                "nodeClassRef": {"group": NODE_CLASS_GROUP, "kind": "EC2NodeClass", "name": POOL},
                "requirements": [
                    _requirement("karpenter.k8s.aws/instance-family", k.instance_families),
                    _requirement("karpenter.k8s.aws/instance-size", k.instance_sizes),
                    _requirement("karpenter.sh/capacity-type", k.capacity_types),
                    _requirement("kubernetes.io/arch", ["amd64"]),
                    _requirement("kubernetes.io/os", ["linux"]),
                ],
                "taints": [{"key": pool.taint_key, "value": pool.taint_value, "effect": pool.taint_effect}],
                "expireAfter": k.expire_after,
            },
        },
        "disruption": {
            "consolidationPolicy": k.consolidation_policy,
            "consolidateAfter": k.consolidate_after,
            "budgets": [{"nodes": k.disruption_budget_nodes}],
        },
        "limits": {"cpu": k.limit_cpu, "memory": k.limit_memory, "nvidia.com/gpu": str(k.limit_gpus)},
    }


def _requirement(key: str, values: list[str]) -> dict[str, Any]:
    return {"key": key, "operator": "In", "values": list(values)}


def node_class_spec(k: Karpenter) -> dict[str, Any]:
    """karpenter.k8s.aws/v1 EC2NodeClass spec: role, pinned AMI, subnets and security groups by discovery tag."""
    discovery = [{"tags": {k.discovery_tag_key: k.cluster_name}}]
    return {
        "role": k.node_role,
        "amiSelectorTerms": [{"alias": k.ami_alias}],
        "subnetSelectorTerms": discovery,
        "securityGroupSelectorTerms": discovery,
        # Model caches and images are large: a root volume sized for them, encrypted.
        "blockDeviceMappings": [
            {
                "deviceName": "/dev/xvda",
                "ebs": {
                    "volumeSize": k.root_volume_size,
                    "volumeType": "gp3",
                    "encrypted": True,
                    "deleteOnTermination": True,
                },
            }
        ],
        # IMDSv2 only, one hop: pods cannot borrow the node role.
        "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1},
        "tags": {"app.kubernetes.io/part-of": "llm-tracing-infra"},
    }


def controller_values(k: Karpenter) -> dict[str, Any]:
    return {
        "settings": {"clusterName": k.cluster_name},
        "serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": k.controller_role_arn}},
    }


class GpuCapacity(pulumi.ComponentResource):
    def __init__(self, name: str, args: GpuCapacityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TOKEN_PREFIX}:karpenter:GpuCapacity", name, None, opts)
        k = args.settings
        waits: list[pulumi.Resource] = []
        if k.install_crds:
            waits.append(
                helm_chart(
                    f"{name}-crds", args.crd_chart, args.charts, namespace=k.namespace, values={},
                    release_name="karpenter-crd", opts=pulumi.ResourceOptions(parent=self),
                )
            )  # fmt: skip
        if k.install_controller:
            helm_chart(
                f"{name}-controller", args.controller_chart, args.charts, namespace=k.namespace,
                values=controller_values(k), release_name="karpenter", skip_crds=True,
                opts=pulumi.ResourceOptions(parent=self, depends_on=waits),
            )  # fmt: skip
        after_crds = pulumi.ResourceOptions(parent=self, depends_on=waits)
        node_class = k8s.apiextensions.CustomResource(
            f"{name}-node-class",
            api_version=f"{NODE_CLASS_GROUP}/v1",
            kind="EC2NodeClass",
            metadata={"name": POOL, "labels": labels("karpenter", "gpu-capacity")},
            spec=node_class_spec(k),
            opts=after_crds,
        )
        k8s.apiextensions.CustomResource(
            f"{name}-node-pool",
            api_version="karpenter.sh/v1",
            kind="NodePool",
            metadata={"name": POOL, "labels": labels("karpenter", "gpu-capacity")},
            spec=node_pool_spec(k, args.pool),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*waits, node_class]),
        )
        self.register_outputs({})
