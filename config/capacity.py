"""Settings for a cluster of more than one machine: GPU node pool, spreading, autoscaling, Karpenter.

Every default here leaves the single-machine stacks (``dev``, ``gpu``) as they were: the GPU pool
is not dedicated, nothing spreads, nothing autoscales, no Karpenter. The ``cluster`` stack turns
them on. Kept apart from ``sections.py`` so the multi-node story reads in one place.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from config.types import PROJECT, DnsLabel, Quantity, Toleration, _Model

_LABEL_NAME = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_AWS_ROLE = re.compile(r"^[\w+=,.@-]{1,64}$")


def _label_key(value: str) -> str:
    prefix = value.rsplit("/", 1)[0] if "/" in value else ""
    if not _LABEL_NAME.match(value) or len(prefix) > 253:
        raise ValueError("a Kubernetes label or taint key such as nvidia.com/gpu.present (optional DNS prefix, '/')")
    return value


def _label_value(value: str) -> str:
    if not _LABEL_VALUE.match(value):
        raise ValueError("a Kubernetes label value: at most 63 letters, digits, '-', '_' or '.', e.g. 'true'")
    return value


LabelKey = Annotated[str, AfterValidator(_label_key)]
LabelValue = Annotated[str, AfterValidator(_label_value)]


class GpuNodePool(_Model):
    """The labelled, tainted GPU nodes. Defaults: GPU Feature Discovery's label, the GPU Operator's taint.

    With ``dedicated`` every GPU workload (engines, device plugin, DCGM) selects ``labelKey=labelValue``
    and tolerates the taint; nothing else tolerates it, so the taint keeps other pods off GPU nodes.
    Off, the GPU workloads run wherever ``gpu.nodeSelector`` says (a single-node k3s: everywhere).
    """

    dedicated: bool = False
    label_key: LabelKey = "nvidia.com/gpu.present"
    label_value: LabelValue = "true"
    taint_key: LabelKey = "nvidia.com/gpu"
    taint_value: LabelValue = "present"
    taint_effect: Literal["NoSchedule", "NoExecute"] = "NoSchedule"

    def selector(self) -> dict[str, str]:
        return {self.label_key: self.label_value} if self.dedicated else {}

    def tolerations(self) -> list[Toleration]:
        if not self.dedicated:
            return []
        return [Toleration(key=self.taint_key, operator="Equal", value=self.taint_value, effect=self.taint_effect)]


class Placement(_Model):
    """How replicated workloads (LiteLLM, the collector, engines) spread over nodes, and their PDBs."""

    spread: bool = Field(default=False, description="Topology spread constraints on replicated workloads.")
    topology_key: LabelKey = "kubernetes.io/hostname"
    max_skew: int = Field(default=1, ge=1, le=10)
    when_unsatisfiable: Literal["ScheduleAnyway", "DoNotSchedule"] = "ScheduleAnyway"


class _Range(_Model):
    min_replicas: int = Field(default=1, ge=1, le=100)
    max_replicas: int = Field(default=4, ge=1, le=100)

    @model_validator(mode="after")
    def _min_below_max(self) -> _Range:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"minReplicas {self.min_replicas} is above maxReplicas {self.max_replicas}; "
                "set minReplicas <= maxReplicas"
            )
        return self


class EngineScaling(_Range):
    """KEDA ``ScaledObject`` per GPU engine, on the engine's own queue metrics in Prometheus."""

    max_replicas: int = Field(default=2, ge=1, le=100)
    waiting_requests_per_replica: float = Field(
        default=4, gt=0, le=10000, description="Requests waiting in the engine's queue, per replica, to scale out at."
    )
    kv_cache_usage_per_replica: float = Field(
        default=0.8, gt=0, le=1, description="Average KV-cache usage (0-1) that triggers a scale-out."
    )
    polling_interval_seconds: int = Field(default=15, ge=5, le=3600)
    cooldown_seconds: int = Field(
        default=600, ge=0, le=86400, description="Quiet time before scaling back to minReplicas."
    )
    fallback_replicas: int = Field(
        default=1, ge=1, le=100, description="Replicas KEDA holds while Prometheus cannot be read (failureThreshold)."
    )
    fallback_failure_threshold: int = Field(default=3, ge=1, le=100)

    @model_validator(mode="after")
    def _fallback_in_range(self) -> EngineScaling:
        if not self.min_replicas <= self.fallback_replicas <= self.max_replicas:
            raise ValueError(
                f"fallbackReplicas {self.fallback_replicas} must lie within minReplicas {self.min_replicas} and "
                f"maxReplicas {self.max_replicas}"
            )
        return self


class ResourceScaling(_Range):
    """A HorizontalPodAutoscaler (autoscaling/v2) on CPU and memory utilisation of the requests.

    Two replicas at least by default: the HPA owns the count (``replicas`` of the section no longer
    applies), and one replica per node keeps the service up through a node drain.
    """

    min_replicas: int = Field(default=2, ge=1, le=100)
    max_replicas: int = Field(default=4, ge=1, le=100)
    cpu_utilization: int = Field(default=75, ge=10, le=100, description="Percent of the CPU request.")
    memory_utilization: int = Field(default=80, ge=10, le=100, description="Percent of the memory request.")


class Autoscaling(_Model):
    """Off by default: one GPU cannot scale out. ``cluster`` turns it on."""

    enabled: bool = False
    install_keda: bool = Field(default=True, description="Install KEDA; false if the cluster has one (>= 2.12).")
    keda_namespace: DnsLabel = "keda"
    engines: EngineScaling = EngineScaling()
    litellm: ResourceScaling = ResourceScaling()
    collector: ResourceScaling = ResourceScaling()


CapacityType = Literal["on-demand", "spot", "reserved"]


def _karpenter_duration(value: str) -> str:
    if not re.match(r"^(([0-9]+(s|m|h))+|Never)$", value):
        raise ValueError("a Karpenter duration in s, m and h (e.g. 10m, 720h) or Never")
    return value


def _aws_role(value: str) -> str:
    if not _AWS_ROLE.match(value):
        raise ValueError("an IAM role name (not an ARN), e.g. KarpenterNodeRole-my-cluster")
    return value


class Karpenter(_Model):
    """A GPU ``NodePool`` (karpenter.sh/v1) and ``EC2NodeClass`` (karpenter.k8s.aws/v1) on EKS.

    The EKS cluster, the node IAM role, the controller's IAM role (IRSA or Pod Identity) and the
    discovery tags on subnets and security groups are prerequisites (README, "Growing past one machine").
    """

    enabled: bool = False
    install_crds: bool = Field(
        default=True, description="Install the karpenter-crd chart (NodePool, EC2NodeClass, NodeClaim CRDs)."
    )
    install_controller: bool = Field(
        default=False,
        description="Install the Karpenter chart (needs clusterName and a controller role); false if EKS has one.",
    )
    namespace: DnsLabel = "kube-system"
    cluster_name: str | None = Field(default=None, description="The EKS cluster's name (discovery tag value).")
    controller_role_arn: str | None = Field(default=None, description="IRSA role of the controller (install only).")
    node_role: Annotated[str, AfterValidator(_aws_role)] | None = Field(
        default=None, description="IAM role name the GPU nodes run with (instance profile made by Karpenter)."
    )
    discovery_tag_key: str = Field(default="karpenter.sh/discovery", description="Tag on subnets and security groups.")
    ami_alias: str | None = Field(
        default=None, description="EKS-optimized AMI, pinned: family@version, e.g. al2023@v20251120 (never @latest)."
    )
    instance_families: list[str] = Field(default_factory=lambda: ["g5", "g6", "g6e"])
    instance_sizes: list[str] = Field(default_factory=lambda: ["xlarge", "2xlarge", "4xlarge"])
    capacity_types: list[str] = Field(default_factory=lambda: ["spot", "on-demand"])
    consolidation_policy: Literal["WhenEmpty", "WhenEmptyOrUnderutilized", "Balanced"] = Field(
        default="WhenEmpty", description="WhenEmpty: a GPU node goes only once no engine runs on it."
    )
    consolidate_after: Annotated[str, AfterValidator(_karpenter_duration)] = "10m"
    expire_after: Annotated[str, AfterValidator(_karpenter_duration)] = "720h"
    disruption_budget_nodes: str = Field(default="10%", description="Nodes disrupted at once (count or percent).")
    limit_gpus: int = Field(default=8, ge=1, le=10000, description="nvidia.com/gpu the pool may hold at most.")
    limit_cpu: Quantity = "256"
    limit_memory: Quantity = "1024Gi"
    root_volume_size: Quantity = "200Gi"

    @model_validator(mode="after")
    def _well_formed(self) -> Karpenter:
        problems = []
        if not self.instance_families:
            problems.append("instanceFamilies is empty; name at least one GPU family, e.g. [g5, g6]")
        if not self.instance_sizes:
            problems.append("instanceSizes is empty; name at least one size, e.g. [xlarge, 2xlarge]")
        unknown = sorted(set(self.capacity_types) - {"on-demand", "spot", "reserved"})
        if unknown or not self.capacity_types:
            problems.append(
                f"capacityTypes {self.capacity_types} must be a non-empty list of on-demand, spot, reserved"
                + (f" (unknown: {unknown})" if unknown else "")
            )
        if not re.match(r"^((100|[0-9]{1,2})%|[0-9]+)$", self.disruption_budget_nodes):
            problems.append(f"disruptionBudgetNodes {self.disruption_budget_nodes!r} must be a count or a percent")
        if self.enabled and not self.cluster_name:
            problems.append("clusterName is required with enabled=true (discovery tags name the EKS cluster)")
        if self.ami_alias and not re.match(r"^(al2023|al2|bottlerocket)@v[0-9][0-9.]*$", self.ami_alias):
            problems.append(
                f"amiAlias {self.ami_alias!r} must be a pinned alias such as al2023@v20251120 (not @latest)"
            )
        if self.enabled and not self.ami_alias:
            problems.append("amiAlias is required with enabled=true: a pinned EKS AMI alias such as al2023@v20251120")
        if self.enabled and not self.node_role:
            problems.append("nodeRole is required with enabled=true (the IAM role name of the GPU nodes)")
        if self.enabled and self.install_controller and not self.controller_role_arn:
            problems.append("controllerRoleArn is required with installController=true (IRSA role of the controller)")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def capacity_problems(stack: Any) -> list[str]:
    """Rules across sections (``stack`` is the ``StackConfig``; typed loosely to keep this module first)."""
    p = PROJECT
    problems = []
    karpenter = stack.cloud.karpenter
    if karpenter.enabled and not (stack.gpu.enabled and stack.gpu.node_pool.dedicated):
        problems.append(
            f"{p}:cloud.karpenter.enabled=true needs {p}:gpu.enabled=true and {p}:gpu.nodePool.dedicated=true "
            "(the NodePool's taint and label are the dedicated pool's)"
        )
    if stack.autoscaling.enabled and stack.istio.mtls.get("monitoring") == "STRICT":
        problems.append(
            f"{p}:autoscaling.enabled=true reads Prometheus from KEDA, which has no sidecar, but "
            f"{p}:istio.mtls.monitoring=STRICT refuses plain-text clients; keep it PERMISSIVE"
        )
    return problems


class Cloud(_Model):
    """Cloud capacity: Karpenter GPU nodes on EKS."""

    karpenter: Karpenter = Karpenter()
