"""The placement rules the lab applies to the cluster's pods and nodes, on hand-made API objects."""

from __future__ import annotations

from typing import Any

import pytest

from lab import placement
from lab.placement import placement_problems, spread_problems, tolerates, tolerations_in

TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
LABEL = ("nvidia.com/gpu.present", "true")


def node(name: str, gpu: bool = False) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {LABEL[0]: LABEL[1]} if gpu else {}}, "spec": {}}


def pod(
    name: str,
    node_name: str | None,
    *,
    namespace: str = "llm",
    gpus: int = 0,
    tolerations: list[dict[str, Any]] | None = None,
    daemonset: bool = False,
    app: str | None = None,
) -> dict[str, Any]:
    limits = {"nvidia.com/gpu": str(gpus)} if gpus else {}
    return {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app": app or name},
            "ownerReferences": [{"kind": "DaemonSet" if daemonset else "ReplicaSet"}],
        },
        "spec": {
            "nodeName": node_name,
            "tolerations": tolerations or [],
            "containers": [{"name": "c", "resources": {"limits": limits}}],
        },
    }


NODES = [node("cpu-0"), node("cpu-1"), node("gpu-0", gpu=True), node("gpu-1", gpu=True)]
POOL = [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}]


@pytest.mark.parametrize(
    ("toleration", "expected"),
    [
        ({"key": "nvidia.com/gpu", "operator": "Exists"}, True),
        ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}, True),
        ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"}, False),
        ({"key": "nvidia.com/gpu", "operator": "Equal", "value": "present"}, True),
        ({"key": "nvidia.com/gpu", "value": "absent"}, False),
        ({"operator": "Exists"}, True),
        ({"operator": "Exists", "effect": "NoSchedule"}, True),
        ({"key": "CriticalAddonsOnly", "operator": "Exists"}, False),
    ],
)
def test_tolerates_follows_kubernetes(toleration: dict[str, Any], expected: bool) -> None:
    assert tolerates(toleration, TAINT) is expected


def test_tolerations_are_found_anywhere_in_values() -> None:
    values = {"controller": {"tolerations": POOL}, "a": [{"b": {"tolerations": [{"operator": "Exists"}]}}]}
    assert list(tolerations_in(values)) == [*POOL, {"operator": "Exists"}]


def test_a_well_placed_cluster_has_no_problems() -> None:
    pods = [
        pod("vllm-a", "gpu-0", gpus=1, tolerations=POOL),
        pod("dcgm-exporter-x", "gpu-1", namespace="nvidia-gpu", tolerations=POOL, daemonset=True),
        pod("alloy-y", "gpu-1", namespace="logging", tolerations=POOL, daemonset=True),
        pod("litellm-a", "cpu-0"),
    ]
    assert placement_problems(pods, NODES, label=LABEL, taint=TAINT, gpu_namespace="nvidia-gpu") == []


def test_misplacements_are_each_named() -> None:
    pods = [
        pod("vllm-a", "cpu-0", gpus=1),
        pod("vllm-b", None, gpus=1),
        pod("litellm-a", "gpu-0"),
        pod("grafana-a", "cpu-1", namespace="monitoring", tolerations=POOL),
    ]
    problems = placement_problems(pods, NODES, label=LABEL, taint=TAINT, gpu_namespace="nvidia-gpu")
    assert problems == [
        "llm/vllm-a is a GPU workload on cpu-0, not on the GPU pool",
        "llm/vllm-b is a GPU workload on no node, not on the GPU pool",
        "llm/litellm-a is not a GPU workload but runs on GPU node gpu-0",
        f"monitoring/grafana-a tolerates the GPU pool's taint {TAINT} but is not a GPU workload",
    ]


def test_spread_needs_two_nodes_for_two_pods() -> None:
    together = [pod("litellm-a", "cpu-0", app="litellm"), pod("litellm-b", "cpu-0", app="litellm")]
    apart = [pod("litellm-a", "cpu-0", app="litellm"), pod("litellm-b", "cpu-1", app="litellm")]
    assert spread_problems(together, NODES, ["litellm"]) == ["litellm: 2 pods all on ['cpu-0'], not spread"]
    assert spread_problems(apart, NODES, ["litellm"]) == []
    assert spread_problems(together, [node("cpu-0")], ["litellm"]) == []
    # GPU nodes carry the taint: with one CPU node, two pods on it are all the cluster allows.
    tainted = [{**node(f"gpu-{i}", gpu=True), "spec": {"taints": [TAINT]}} for i in range(2)]
    assert spread_problems(together, [node("cpu-0"), *tainted], ["litellm"]) == []
    assert spread_problems(together[:1], NODES, ["litellm"]) == []


POOL_NODES = {"gpu-0", "gpu-1"}


def test_gpu_pods_off_the_pool_and_others_on_it_are_told_apart() -> None:
    pods = [
        pod("vllm-a", "gpu-0", gpus=1, tolerations=POOL),
        pod("device-plugin-x", "cpu-0", namespace="nvidia-gpu", daemonset=True),
        pod("litellm-a", "gpu-1"),
        pod("node-exporter-y", "gpu-0", namespace="monitoring", tolerations=[{"operator": "Exists"}], daemonset=True),
    ]
    assert placement.gpu_pods_off_pool(pods, POOL_NODES, "nvidia-gpu") == [
        "nvidia-gpu/device-plugin-x is a GPU workload on cpu-0, not on the GPU pool"
    ]
    assert placement.others_on_pool(pods, POOL_NODES, TAINT, "nvidia-gpu") == [
        "llm/litellm-a is not a GPU workload but runs on GPU node gpu-1"
    ]


def test_node_agents_on_the_pool_are_named_by_their_daemonset() -> None:
    agent = pod("alloy-x", "gpu-0", namespace="logging", daemonset=True)
    agent["metadata"]["ownerReferences"] = [{"kind": "DaemonSet", "name": "logging-alloy"}]
    gpu_daemon = pod("dcgm-y", "gpu-0", namespace="nvidia-gpu", daemonset=True)
    elsewhere = pod("alloy-z", "cpu-0", namespace="logging", daemonset=True)
    agents = placement.node_agents_on([agent, gpu_daemon, elsewhere], POOL_NODES, "nvidia-gpu")
    assert agents == ["logging/logging-alloy"]


GPU_POOL = placement.GpuPool(
    label=LABEL, taint=TAINT, gpu_namespace="nvidia-gpu",
    node_labels={LABEL[0]: LABEL[1], "karpenter.sh/nodepool": "gpu"},
)  # fmt: skip


def test_pool_nodes_need_every_label_and_the_taint_and_two_cpu_nodes() -> None:
    def labelled(name: str, labels: dict[str, str], taints: list[dict[str, str]]) -> dict[str, Any]:
        return {"metadata": {"name": name, "labels": labels}, "spec": {"taints": taints}}

    ready = [node("cpu-0"), node("cpu-1"), labelled("gpu-0", GPU_POOL.node_labels, [TAINT])]
    assert placement.pool_node_problems(ready, GPU_POOL) == []
    untainted = [node("cpu-0"), node("cpu-1"), labelled("gpu-0", GPU_POOL.node_labels, [])]
    assert "no node carries" in placement.pool_node_problems(untainted, GPU_POOL)[0]
    without_karpenter_label = [node("cpu-0"), node("cpu-1"), labelled("gpu-0", {LABEL[0]: LABEL[1]}, [TAINT])]
    assert placement.pool_node_problems(without_karpenter_label, GPU_POOL)
    one_cpu = [node("cpu-0"), labelled("gpu-0", GPU_POOL.node_labels, [TAINT])]
    assert placement.pool_node_problems(one_cpu, GPU_POOL) == [
        "1 schedulable untainted CPU node(s) ['cpu-0']: spreading needs two"
    ]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ({"matchLabels": {"app": "litellm"}}, True),
        ({"matchLabels": {"app": "vllm"}}, False),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["litellm", "x"]}]}, True),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["litellm"]}]}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, False),
        ({"matchLabels": {"app": "litellm"}, "matchExpressions": [{"key": "app", "operator": "Bogus"}]}, False),
        ({}, False),
        (None, False),
    ],
)
def test_label_selectors_follow_kubernetes(selector: dict[str, Any] | None, expected: bool) -> None:
    assert placement.selects(selector, {"app": "litellm", "pod-template-hash": "abc"}) is expected


def workload(kind: str, namespace: str, name: str, replicas: int | None = None) -> dict[str, Any]:
    labels = {"app": name}
    spec: dict[str, Any] = {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"kind": kind, "metadata": {"namespace": namespace, "name": name}, "spec": spec}


def hpa(namespace: str, name: str, target: str, low: int, high: int, kind: str = "Deployment") -> dict[str, Any]:
    ref = {"kind": kind, "name": target}
    return {"metadata": {"namespace": namespace, "name": name}, "spec": {"scaleTargetRef": ref, "minReplicas": low,
            "maxReplicas": high}}  # fmt: skip


SCALED = {"metadata": {"namespace": "llm", "name": "vllm"}, "spec": {"scaleTargetRef": {"name": "vllm"},
          "maxReplicaCount": 2}}  # fmt: skip
WORKLOADS = [
    workload("Deployment", "litellm", "litellm", 2),
    workload("StatefulSet", "tracing", "otel-collector", 2),
    workload("Deployment", "llm", "vllm"),
    workload("Deployment", "istio-system", "istiod", 1),
    workload("Deployment", "monitoring", "grafana", 1),
    workload("Deployment", "langfuse", "web", 3),
]
SCALERS = placement.scalers(
    [
        hpa("litellm", "litellm", "litellm", 2, 4),
        hpa("tracing", "otel-collector", "otel-collector", 2, 4, kind="StatefulSet"),
        hpa("istio-system", "istiod", "istiod", 1, 5),
    ],
    [SCALED],
)


def test_scalers_read_both_kinds_with_keda_defaults() -> None:
    assert SCALERS[-1] == placement.Scaler("ScaledObject/llm/vllm", "Deployment/llm/vllm", 0, 2)
    assert SCALERS[1].target == "StatefulSet/tracing/otel-collector"
    bare = {"metadata": {"namespace": "a", "name": "b"}, "spec": {"scaleTargetRef": {"name": "b"}}}
    assert placement.scalers([], [bare]) == [placement.Scaler("ScaledObject/a/b", "Deployment/a/b", 0, 100)]


def test_replicated_means_two_at_the_minimum_or_scaled_on_a_queue() -> None:
    assert placement.replicated(WORKLOADS, SCALERS) == {
        "Deployment/litellm/litellm": "HorizontalPodAutoscaler/litellm/litellm 2-4",
        "StatefulSet/tracing/otel-collector": "HorizontalPodAutoscaler/tracing/otel-collector 2-4",
        "Deployment/llm/vllm": "ScaledObject/llm/vllm 0-2",
        "Deployment/langfuse/web": "3 replicas",
    }
    assert placement.single_minimum(WORKLOADS, SCALERS) == [
        "Deployment/istio-system/istiod (HorizontalPodAutoscaler/istio-system/istiod 1-5)"
    ]


def pdb(namespace: str, match: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"name": "x", "namespace": namespace}, "spec": {"selector": {"matchLabels": match}}}


def test_every_replicated_workload_needs_a_budget_of_its_own_namespace() -> None:
    keys = set(placement.replicated(WORKLOADS, SCALERS))
    owners = (("litellm", "litellm"), ("tracing", "otel-collector"), ("llm", "vllm"))
    budgets = [pdb(ns, {"app": app}) for ns, app in owners]
    assert placement.uncovered(WORKLOADS, keys, budgets) == ["Deployment/langfuse/web"]
    budgets[0] = pdb("tracing", {"app": "litellm"})  # the right labels in the wrong namespace cover nothing
    assert placement.uncovered(WORKLOADS, keys, budgets) == ["Deployment/langfuse/web", "Deployment/litellm/litellm"]


def test_unspread_names_shared_nodes_and_lists_what_is_spread() -> None:
    keys = {"Deployment/litellm/litellm", "StatefulSet/tracing/otel-collector"}
    pods = [
        pod("litellm-a", "cpu-0", namespace="litellm", app="litellm"),
        pod("litellm-b", "cpu-1", namespace="litellm", app="litellm"),
        pod("otel-collector-0", "cpu-0", namespace="tracing", app="otel-collector"),
        pod("otel-collector-1", "cpu-0", namespace="tracing", app="otel-collector"),
        pod("otel-collector-x", "cpu-1", namespace="other", app="otel-collector"),  # another namespace: not its pod
    ]
    problems, spread = placement.unspread(WORKLOADS, keys, pods, NODES)
    assert problems == ["StatefulSet/tracing/otel-collector: 2 pods all on ['cpu-0'], not spread"]
    assert spread == ["Deployment/litellm/litellm on ['cpu-0', 'cpu-1']"]


def test_autoscaler_problems_name_missing_targets_missing_scalers_and_doubles() -> None:
    made = ["HorizontalPodAutoscaler/litellm/litellm", "HorizontalPodAutoscaler/litellm/gone"]
    double = placement.scalers([hpa("llm", "vllm-cpu", "vllm", 1, 2)], [SCALED])
    orphan = placement.scalers([hpa("x", "y", "nothing", 1, 2)], [])
    assert placement.autoscaler_problems(SCALERS, WORKLOADS, made) == [
        "HorizontalPodAutoscaler/litellm/gone is in the stack's state but not in the cluster"
    ]
    assert placement.autoscaler_problems(double, WORKLOADS, []) == [
        "Deployment/llm/vllm has two autoscalers: ['HorizontalPodAutoscaler/llm/vllm-cpu', 'ScaledObject/llm/vllm']"
    ]
    assert placement.autoscaler_problems(orphan, WORKLOADS, []) == [
        "HorizontalPodAutoscaler/x/y targets Deployment/x/nothing, which does not exist"
    ]


def test_short_of_minimum_reads_the_replicas_the_hpa_controller_set() -> None:
    behind = [workload("Deployment", "litellm", "litellm", 1), *WORKLOADS[1:]]
    assert placement.short_of_minimum(SCALERS, WORKLOADS) == []
    assert placement.short_of_minimum(SCALERS, behind) == [
        "Deployment/litellm/litellm has 1 replica(s), HorizontalPodAutoscaler/litellm/litellm asks for at least 2"
    ]


STATE = {
    "deployment": {
        "resources": [
            {"custom": True, "type": "kubernetes:keda.sh/v1alpha1:ScaledObject",
             "inputs": {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
                        "metadata": {"name": "vllm", "namespace": "llm"}, "spec": {"maxReplicaCount": 2}}},
            {"custom": True, "type": "kubernetes:karpenter.sh/v1:NodePool",
             "inputs": {"metadata": {"name": "gpu"}, "spec": {"limits": {"cpu": "256"}}}},
            # a chart's child: the namespace only on the live object
            {"custom": True, "type": "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
             "inputs": {"metadata": {"name": "otel-collector"}},
             "outputs": {"metadata": {"name": "otel-collector", "namespace": "tracing"}}},
            {"custom": False, "type": "llm-tracing-infra:karpenter:NodePool", "inputs": {"metadata": {"name": "c"}}},
        ]
    }
}  # fmt: skip


def test_sent_objects_are_keyed_by_the_live_name_and_namespace() -> None:
    sent = placement.sent_objects(STATE, ("ScaledObject", "NodePool"))
    assert set(sent) == {"ScaledObject/llm/vllm", "NodePool//gpu"}
    assert set(placement.sent_objects(STATE, ("HorizontalPodAutoscaler",))) == {
        "HorizontalPodAutoscaler/tracing/otel-collector"
    }


def test_missing_fields_allows_defaults_but_not_pruning_or_changes() -> None:
    sent = {"a": 1, "b": {"c": "x", "d": [1, {"e": True}]}}
    assert placement.missing_fields(sent, {"a": 1, "z": 0, "b": {"c": "x", "d": [1, {"e": True, "f": 2}]}}) == []
    assert placement.missing_fields(sent, {"a": 1, "b": {"c": "y", "d": [1, {}]}}) == [
        "b.c: sent 'x', stored 'y'",
        "b.d[1].e: sent, not stored (pruned by the CRD schema?)",
    ]
    assert placement.missing_fields(sent, {"a": 1, "b": {"c": "x", "d": [1]}}) == ["b.d: sent 2 item(s), stored [1]"]


def test_stored_as_sent_needs_each_promised_kind_and_each_object() -> None:
    sent = placement.sent_objects(STATE, ("ScaledObject", "NodePool"))
    stored = [
        {"kind": "ScaledObject", "metadata": {"name": "vllm", "namespace": "llm"}, "spec": {"maxReplicaCount": 2}},
        {"kind": "NodePool", "metadata": {"name": "gpu"}, "spec": {"limits": {}}},
    ]
    assert placement.stored_as_sent(sent, stored, ("ScaledObject", "NodePool", "EC2NodeClass")) == [
        "the stack's state has no EC2NodeClass",
        "NodePool//gpu spec.limits.cpu: sent, not stored (pruned by the CRD schema?)",
    ]
    assert placement.stored_as_sent(sent, stored[:1], ("ScaledObject",)) == ["NodePool//gpu: not in the API server"]


def test_keda_hpa_name_follows_the_scaled_object() -> None:
    advanced = {"horizontalPodAutoscalerConfig": {"name": "vllm-keda"}}
    named = {"metadata": {"name": "vllm"}, "spec": {"advanced": advanced}}
    assert placement.keda_hpa_name(named) == "vllm-keda"
    assert placement.keda_hpa_name({"metadata": {"name": "vllm"}, "spec": {}}) == "keda-hpa-vllm"
