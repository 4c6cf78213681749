"""The lab's checks of a cluster stack (GPU pool, spread, PDBs, autoscalers, custom resources) on API-shaped JSON."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from lab import checks
from lab.placement import GpuPool

POOL = GpuPool(
    label=("nvidia.com/gpu.present", "true"),
    taint={"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"},
    gpu_namespace="nvidia-gpu",
    node_labels={"nvidia.com/gpu.present": "true"},
)
GPU_TOLERATION = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
NODE_POOL_SPEC = {"limits": {"nvidia.com/gpu": "8"}, "template": {"spec": {"requirements": [{"operator": "In"}]}}}
SCALED_SPEC = {"scaleTargetRef": {"name": "vllm"}, "maxReplicaCount": 2, "fallback": {"replicas": 1}}


def node(name: str, gpu: bool) -> dict[str, Any]:
    labels = {"nvidia.com/gpu.present": "true"} if gpu else {}
    return {"metadata": {"name": name, "labels": labels}, "spec": {"taints": [POOL.taint]} if gpu else {}}


def pod(name: str, namespace: str, node_name: str, app: str, *, gpu: bool = False, daemon: str = "") -> dict[str, Any]:
    owner = {"kind": "DaemonSet", "name": daemon} if daemon else {"kind": "ReplicaSet", "name": f"{app}-1"}
    limits = {"nvidia.com/gpu": "1"} if gpu else {}
    return {
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": app}, "ownerReferences": [owner]},
        "spec": {
            "nodeName": node_name,
            "tolerations": GPU_TOLERATION if gpu or daemon else [],
            "containers": [{"name": "c", "resources": {"limits": limits}}],
        },
    }


def workload(kind: str, namespace: str, name: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name}
    spec = {"replicas": replicas, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}}}
    return {"metadata": {"namespace": namespace, "name": name}, "spec": spec}  # lists leave out `kind`


def crd(kind: str, group: str, plural: str) -> dict[str, Any]:
    established = [{"type": "Established", "status": "True"}]
    names = {"kind": kind, "plural": plural}
    return {"metadata": {"name": f"{plural}.{group}"}, "spec": {"group": group, "names": names},
            "status": {"conditions": established}}  # fmt: skip


def healthy() -> dict[str, list[dict[str, Any]]]:
    """A cluster stack after ``up`` on three CPU nodes and two GPU nodes, as the lab expects it."""
    pdb = [
        {"metadata": {"namespace": ns, "name": app}, "spec": {"selector": {"matchLabels": {"app": app}}}}
        for ns, app in (("litellm", "litellm"), ("tracing", "otel-collector"), ("llm", "vllm"))
    ]
    hpa = [
        {"metadata": {"namespace": "litellm", "name": "litellm"},
         "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "litellm"}, "minReplicas": 2, "maxReplicas": 4}},
        {"metadata": {"namespace": "tracing", "name": "otel-collector"},
         "spec": {"scaleTargetRef": {"kind": "StatefulSet", "name": "otel-collector"}, "minReplicas": 2,
                  "maxReplicas": 4}},
    ]  # fmt: skip
    return copy.deepcopy({  # the specs are shared with STATE: a mutation must change the cluster only
        "nodes": [node(f"cpu-{i}", False) for i in range(3)] + [node(f"gpu-{i}", True) for i in range(2)],
        "pods": [
            pod("vllm-a", "llm", "gpu-0", "vllm", gpu=True),
            pod("dcgm-exporter-a", "nvidia-gpu", "gpu-0", "dcgm", daemon="dcgm-exporter"),
            pod("dcgm-exporter-b", "nvidia-gpu", "gpu-1", "dcgm", daemon="dcgm-exporter"),
            pod("alloy-a", "logging", "gpu-1", "alloy", daemon="logging-alloy"),
            pod("litellm-a", "litellm", "cpu-0", "litellm"),
            pod("litellm-b", "litellm", "cpu-1", "litellm"),
            pod("otel-collector-0", "tracing", "cpu-1", "otel-collector"),
            pod("otel-collector-1", "tracing", "cpu-2", "otel-collector"),
        ],
        "deployments": [workload("Deployment", "llm", "vllm", 1), workload("Deployment", "litellm", "litellm", 2)],
        "statefulsets": [workload("StatefulSet", "tracing", "otel-collector", 2)],
        "hpa": hpa,
        "scaledobjects.keda.sh": [{"metadata": {"namespace": "llm", "name": "vllm"}, "spec": SCALED_SPEC}],
        "pdb": pdb,
        "crd": [
            crd("ScaledObject", "keda.sh", "scaledobjects"),
            crd("NodePool", "karpenter.sh", "nodepools"),
            crd("EC2NodeClass", "karpenter.k8s.aws", "ec2nodeclasses"),
        ],
        "nodepools.karpenter.sh": [{"kind": "NodePool", "metadata": {"name": "gpu"}, "spec": NODE_POOL_SPEC}],
        "ec2nodeclasses.karpenter.k8s.aws": [{"kind": "EC2NodeClass", "metadata": {"name": "gpu"}, "spec": {}}],
    })


def with_kinds(objects: dict[str, list[dict[str, Any]]]) -> checks.Get:
    """``get(kind)``; a stored ScaledObject carries its kind as the API server's list items do."""

    def get(kind: str) -> dict[str, Any]:
        items = copy.deepcopy(objects[kind])
        if kind == "scaledobjects.keda.sh":
            items = [{"kind": "ScaledObject", **i} for i in items]
        return {"items": items}

    return get


STATE = {
    "deployment": {
        "resources": [
            {"custom": True, "type": f"kubernetes:{api}:{kind}", "inputs": {"apiVersion": api, "kind": kind,
             "metadata": {"name": name, **({"namespace": ns} if ns else {})}, "spec": spec}}
            for api, kind, ns, name, spec in (
                ("autoscaling/v2", "HorizontalPodAutoscaler", "litellm", "litellm", {}),
                ("autoscaling/v2", "HorizontalPodAutoscaler", "tracing", "otel-collector", {}),
                ("keda.sh/v1alpha1", "ScaledObject", "llm", "vllm", SCALED_SPEC),
                ("karpenter.sh/v1", "NodePool", "", "gpu", NODE_POOL_SPEC),
                ("karpenter.k8s.aws/v1", "EC2NodeClass", "", "gpu", {}),
            )
        ]
    }
}  # fmt: skip


def run(objects: dict[str, list[dict[str, Any]]], karpenter: bool = True) -> dict[str, dict[str, Any]]:
    expected = checks.expectations(POOL, STATE, autoscaling=True, karpenter=karpenter)
    return {r["name"]: r for r in checks.after_up_cluster(with_kinds(objects), expected)}


def test_a_well_placed_cluster_passes_every_check_and_names_its_node_agents() -> None:
    results = run(healthy())
    assert {name: r["ok"] for name, r in results.items()} == {
        "gpu-pods-on-gpu-pool": True,
        "nothing-else-on-gpu-pool": True,
        "replicas-spread-over-nodes": True,
        "pdbs-for-replicated-workloads": True,
        "autoscalers-target-workloads": True,
        "scaledobjects-stored-as-sent": True,
        "karpenter-stored-as-sent": True,
    }, results
    assert "node agents excepted: ['logging/logging-alloy']" in results["nothing-else-on-gpu-pool"]["message"]
    assert "Deployment/llm/vllm" in results["pdbs-for-replicated-workloads"]["message"]


def test_without_karpenter_its_check_is_not_run() -> None:
    assert "karpenter-stored-as-sent" not in run(healthy(), karpenter=False)


def mutate(change: str) -> dict[str, list[dict[str, Any]]]:
    objects = healthy()
    pods = {p["metadata"]["name"]: p for p in objects["pods"]}
    if change == "engine-on-cpu":
        pods["vllm-a"]["spec"]["nodeName"] = "cpu-2"
    elif change == "litellm-on-gpu":
        pods["litellm-b"]["spec"]["nodeName"] = "gpu-1"
    elif change == "collector-together":
        pods["otel-collector-1"]["spec"]["nodeName"] = "cpu-1"
    elif change == "no-collector-pdb":
        objects["pdb"] = objects["pdb"][:1] + objects["pdb"][2:]
    elif change == "hpa-not-acted":
        objects["deployments"][1]["spec"]["replicas"] = 1
    elif change == "scaled-object-pruned":
        del objects["scaledobjects.keda.sh"][0]["spec"]["fallback"]
    elif change == "node-class-missing":
        objects["ec2nodeclasses.karpenter.k8s.aws"] = []
    elif change == "nodepool-crd-not-established":
        objects["crd"][1]["status"]["conditions"] = []
    return objects


@pytest.mark.parametrize(
    ("change", "failing", "says"),
    [
        ("engine-on-cpu", "gpu-pods-on-gpu-pool", "llm/vllm-a is a GPU workload on cpu-2"),
        ("litellm-on-gpu", "nothing-else-on-gpu-pool", "litellm/litellm-b is not a GPU workload but runs on GPU node"),
        ("collector-together", "replicas-spread-over-nodes", "StatefulSet/tracing/otel-collector: 2 pods all on"),
        ("no-collector-pdb", "pdbs-for-replicated-workloads", "no PDB for ['StatefulSet/tracing/otel-collector']"),
        ("hpa-not-acted", "autoscalers-target-workloads", "Deployment/litellm/litellm has 1 replica(s)"),
        ("scaled-object-pruned", "scaledobjects-stored-as-sent", "spec.fallback: sent, not stored"),
        ("node-class-missing", "karpenter-stored-as-sent", "EC2NodeClass//gpu: not in the API server"),
        ("nodepool-crd-not-established", "karpenter-stored-as-sent", "no Established CRD for NodePool.karpenter.sh"),
    ],
)
def test_each_broken_promise_fails_its_check_only(change: str, failing: str, says: str) -> None:
    results = run(mutate(change))
    assert [name for name, r in results.items() if not r["ok"]] == [failing], results
    assert says in results[failing]["message"], results[failing]


def test_a_gpu_pool_with_nothing_on_it_proves_nothing() -> None:
    objects = healthy()
    objects["pods"] = [p for p in objects["pods"] if p["metadata"]["namespace"] not in ("llm", "nvidia-gpu")]
    objects["nodes"] = [n for n in objects["nodes"] if not n["metadata"]["labels"]]
    results = run(objects)
    assert not results["gpu-pods-on-gpu-pool"]["ok"] and not results["nothing-else-on-gpu-pool"]["ok"]


def test_expectations_read_the_autoscalers_and_custom_resources_from_the_state() -> None:
    expected = checks.expectations(POOL, STATE, autoscaling=True, karpenter=False)
    assert expected.autoscalers == (
        "HorizontalPodAutoscaler/litellm/litellm",
        "HorizontalPodAutoscaler/tracing/otel-collector",
        "ScaledObject/llm/vllm",
    )
    assert set(expected.sent) == {"ScaledObject/llm/vllm"} and expected.custom_kinds == ("ScaledObject",)


def test_the_wait_ends_when_the_hpa_controller_acted_or_time_is_up() -> None:
    objects = mutate("hpa-not-acted")
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds
        if now[0] >= 10:  # the controller's turn came
            objects["deployments"][1]["spec"]["replicas"] = 2

    waited, short = checks.wait_for_minimum(with_kinds(objects), 120, sleep=sleep, clock=lambda: now[0])
    assert (waited, short) == (10.0, [])
    never = mutate("hpa-not-acted")
    ticking = iter(range(0, 1000, 5))
    waited, short = checks.wait_for_minimum(with_kinds(never), 30, sleep=lambda s: None, clock=lambda: next(ticking))
    assert waited >= 30 and short == ["Deployment/litellm/litellm has 1 replica(s), "
                                      "HorizontalPodAutoscaler/litellm/litellm asks for at least 2"]  # fmt: skip


def test_an_unreadable_cluster_ends_the_wait_with_the_reason() -> None:
    def dead(kind: str) -> dict[str, Any]:
        raise checks.EvidenceError("`kubectl get hpa -A -o json` exited 1: connection refused")

    _, short = checks.wait_for_minimum(dead, 120, sleep=lambda s: None, clock=lambda: 0.0)
    assert short == ["`kubectl get hpa -A -o json` exited 1: connection refused"]


def test_what_cannot_be_shown_is_named_with_the_hpa_keda_would_make() -> None:
    expected = checks.expectations(POOL, STATE, autoscaling=True, karpenter=True)
    items = {i["name"]: i["why"] for i in checks.not_provable(expected)}
    assert set(items) == {"keda-creates-hpa ScaledObject/llm/vllm", "karpenter-launches-gpu-nodes"}
    assert "keda-hpa-vllm" in items["keda-creates-hpa ScaledObject/llm/vllm"]
    assert "does not make one" in items["keda-creates-hpa ScaledObject/llm/vllm"]
    assert checks.not_provable(checks.expectations(POOL, STATE, autoscaling=False, karpenter=False)) == []


def keda_hpa(**changes: Any) -> dict[str, Any]:
    """The HPA KEDA 2.20's operator makes for ``SCALED_SPEC`` (one Prometheus trigger added below)."""
    hpa: dict[str, Any] = {
        "metadata": {"namespace": "llm", "name": "keda-hpa-vllm", "ownerReferences": [
            {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "name": "vllm", "controller": True}]},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "vllm"}, "minReplicas": 1, "maxReplicas": 2,
                 "metrics": [{"type": "External", "external": {"metric": {"name": "s0-prometheus"}}}]},
    }  # fmt: skip
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = hpa
        for key in parents:
            node = node[key]
        node[leaf] = value
    return hpa


def keda_run(
    hpas: list[dict[str, Any]], *, alive: bool = True, timeout: float = 0.0, ready: str = "True"
) -> dict[str, Any]:
    sent = {"ScaledObject/llm/vllm": {"spec": {**SCALED_SPEC, "triggers": [{"type": "prometheus"}]},
                                      "metadata": {"name": "vllm"}}}  # fmt: skip
    objects = healthy()
    objects["hpa"] += hpas
    objects["scaledobjects.keda.sh"][0]["status"] = {"conditions": [{"type": "Ready", "status": ready}]}
    check = checks.keda_made_hpas(
        sent, lambda: alive, lambda: "E0101 cannot list ScaledObjects: forbidden", timeout=timeout,
        sleep=lambda s: None, clock=iter(range(1000)).__next__,
    )  # fmt: skip
    return checks.run_check("keda-operator-made-hpas", check, with_kinds(objects))


def test_the_hpa_keda_made_passes_and_reports_the_scaled_objects_conditions() -> None:
    result = keda_run([keda_hpa()])
    assert result["ok"], result["message"]
    assert "llm/keda-hpa-vllm 1-2 on 1 metric(s)" in result["message"] and "Ready=True" in result["message"]


def test_a_scaled_object_keda_did_not_find_ready_fails() -> None:
    result = keda_run([keda_hpa()], ready="False")
    assert not result["ok"] and "ScaledObject/llm/vllm not Ready" in result["message"]


@pytest.mark.parametrize(
    ("hpas", "says"),
    [
        ([], "no HPA llm/keda-hpa-vllm"),
        ([keda_hpa(metadata__ownerReferences=[])], "is not controlled by it"),
        ([keda_hpa(spec__scaleTargetRef={"kind": "Deployment", "name": "sglang"})], "scales Deployment/sglang"),
        ([keda_hpa(spec__maxReplicas=100)], "bounds 1-100, expected 1-2"),
        ([keda_hpa(spec__metrics=[])], "0 External metric(s) for 1 trigger(s)"),
    ],
)
def test_a_missing_or_different_keda_hpa_fails_with_what_differs(hpas: list[dict[str, Any]], says: str) -> None:
    result = keda_run(hpas, timeout=5)
    assert not result["ok"] and says in result["message"], result["message"]


def test_an_operator_that_exited_fails_with_its_log_even_if_an_hpa_is_there() -> None:
    result = keda_run([keda_hpa()], alive=False)
    assert not result["ok"] and "forbidden" in result["message"]


def test_the_keda_hpa_is_not_a_second_autoscaler_of_the_engine() -> None:
    objects = healthy()
    objects["hpa"].append(keda_hpa())
    expected = checks.expectations(POOL, STATE, autoscaling=True, karpenter=True)
    results = {r["name"]: r for r in checks.after_up_cluster(with_kinds(objects), expected)}
    assert results["autoscalers-target-workloads"]["ok"], results["autoscalers-target-workloads"]["message"]
    stranger = keda_hpa(metadata__ownerReferences=[{"apiVersion": "apps/v1", "kind": "Deployment", "name": "x"}])
    objects["hpa"][-1] = stranger
    results = {r["name"]: r for r in checks.after_up_cluster(with_kinds(objects), expected)}
    assert "two autoscalers" in results["autoscalers-target-workloads"]["message"]


def test_with_the_operator_run_the_hpa_is_no_longer_named_not_provable() -> None:
    expected = checks.expectations(POOL, STATE, autoscaling=True, karpenter=True)
    items = {i["name"] for i in checks.not_provable(expected, keda_ran=True)}
    assert items == {"karpenter-launches-gpu-nodes"}
