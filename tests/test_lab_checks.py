"""The lab's cluster checks, on API-server-shaped JSON (the lab itself runs them for real)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from lab import checks
from lab.placement import GpuPool
from lab.runner import Phase, Report, changed_resources


def meta(name: str, namespace: str = "default", created: str = "2026-01-01T00:00:00Z", **extra: Any) -> dict:
    return {"name": name, "namespace": namespace, "creationTimestamp": created, **extra}


def cluster(**kinds: list[dict[str, Any]]) -> checks.Get:
    def get(kind: str) -> dict[str, Any]:
        return {"items": kinds.get(kind.split(".")[0], [])}

    return get


CRD_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"
DEPLOY_TYPE = "kubernetes:apps/v1:Deployment"
CRD_URN = f"urn:pulumi:dev::p::kubernetes:yaml/v2:ConfigFile${CRD_TYPE}::httproutes.gateway.networking.k8s.io"
ISTIOD_URN = f"urn:pulumi:dev::p::kubernetes:helm.sh/v4:Chart${DEPLOY_TYPE}::mesh-istiod:istio-system/istiod"


def event(sequence: int, key: str, typ: str, urn: str, planning: bool = False) -> str:
    body = {"metadata": {"op": "create", "urn": urn, "type": typ}, **({"planning": True} if planning else {})}
    return json.dumps({"sequence": sequence, "timestamp": 1767225600, key: body})


def order_cluster() -> checks.Get:
    """Same creation second for the CRD and istiod: timestamps cannot order them."""
    crd = {"metadata": meta("httproutes.gateway.networking.k8s.io", created="2026-01-01T00:00:05Z")}
    istiod = {"metadata": meta("istiod", "istio-system", created="2026-01-01T00:00:05Z")}
    return cluster(crd=[crd], deployments=[istiod])


def test_crds_before_istiod_reads_the_engine_order_not_timestamps(tmp_path: Path) -> None:
    log = tmp_path / "up.events.jsonl"
    log.write_text(
        "\n".join(
            [
                event(3, "resourcePreEvent", CRD_TYPE, CRD_URN),
                event(4, "resOutputsEvent", CRD_TYPE, CRD_URN),
                event(9, "resourcePreEvent", DEPLOY_TYPE, ISTIOD_URN),
                event(12, "resOutputsEvent", DEPLOY_TYPE, ISTIOD_URN),
            ]
        )
    )
    result = checks.crds_before_istiod(log)(order_cluster())
    assert result["ok"], result
    assert "event 4" in result["message"] and "event 9" in result["message"]


def test_istiod_started_before_a_crd_finished_fails(tmp_path: Path) -> None:
    log = tmp_path / "up.events.jsonl"
    log.write_text(
        "\n".join(
            [
                event(3, "resourcePreEvent", CRD_TYPE, CRD_URN),
                event(5, "resourcePreEvent", DEPLOY_TYPE, ISTIOD_URN),
                event(6, "resOutputsEvent", CRD_TYPE, CRD_URN),  # the CRD's create returned after istiod's began
            ]
        )
    )
    assert not checks.crds_before_istiod(log)(order_cluster())["ok"]


def test_crd_order_without_evidence_fails(tmp_path: Path) -> None:
    get = order_cluster()
    missing = checks.crds_before_istiod(tmp_path / "absent.jsonl")
    with pytest.raises(checks.EvidenceError, match="unreadable"):
        missing(get)
    with pytest.raises(checks.EvidenceError, match="no engine event log"):
        checks.crds_before_istiod(None)(get)
    planning_only = tmp_path / "preview.jsonl"  # a preview's planned steps are not an apply order
    planning_only.write_text(
        "\n".join(
            [
                event(1, "resOutputsEvent", CRD_TYPE, CRD_URN, planning=True),
                event(2, "resourcePreEvent", DEPLOY_TYPE, ISTIOD_URN, planning=True),
            ]
        )
    )
    with pytest.raises(checks.EvidenceError, match="no resource steps"):
        checks.crds_before_istiod(planning_only)(get)
    unlogged = tmp_path / "istiod-only.jsonl"  # a CRD in the cluster the update never applied
    unlogged.write_text(event(2, "resourcePreEvent", DEPLOY_TYPE, ISTIOD_URN))
    result = checks.crds_before_istiod(unlogged)(get)
    assert not result["ok"] and "httproutes.gateway.networking.k8s.io" in result["message"]
    no_istiod = cluster(crd=[{"metadata": meta("httproutes.gateway.networking.k8s.io")}])
    assert not checks.crds_before_istiod(unlogged)(no_istiod)["ok"]


# ---------------------------------------------------------------------------------------------
# Fail closed: an API server that cannot be read fails every check, with the reason
# ---------------------------------------------------------------------------------------------

DEAD_KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: stopped
  cluster: {server: "https://127.0.0.1:1"}
contexts:
- name: stopped
  context: {cluster: stopped, user: nobody}
current-context: stopped
users:
- name: nobody
  user: {token: not-a-credential}
"""


@pytest.fixture(scope="module")
def stopped_api_server(tmp_path_factory: pytest.TempPathFactory) -> checks.Get:
    """``kubectl`` against a kubeconfig whose API server is 127.0.0.1:1 (nothing listens there)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        if os.environ.get("CI"):
            pytest.fail("kubectl is not installed; CI must not skip the fail-closed checks")
        pytest.skip("kubectl is not installed (the lab's toolchain provides it)")
    home = tmp_path_factory.mktemp("stopped-api")
    (home / "kubeconfig").write_text(DEAD_KUBECONFIG)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "KUBECONFIG": str(home / "kubeconfig")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([kubectl, *args], env=env, capture_output=True, text=True, timeout=60, check=False)

    return checks.kubectl_get(run)


def runner_shaped(kind: str) -> dict[str, Any]:
    """The answer the lab once turned a kubectl failure into: an empty list and the error."""
    return {"items": [], "error": "The connection to the server 127.0.0.1:1 was refused"}


POOL = GpuPool(
    label=("nvidia.com/gpu.present", "true"),
    taint={"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"},
    gpu_namespace="nvidia-gpu",
)
EXPECTED = checks.ClusterExpectations(
    POOL,
    ("HorizontalPodAutoscaler/litellm/litellm", "ScaledObject/llm/vllm"),
    {"ScaledObject/llm/vllm": {"apiVersion": "keda.sh/v1alpha1", "spec": {}},
     "NodePool//gpu": {"apiVersion": "karpenter.sh/v1", "spec": {}},
     "EC2NodeClass//gpu": {"apiVersion": "karpenter.k8s.aws/v1", "spec": {}}},
    ("ScaledObject", "NodePool", "EC2NodeClass"),
)  # fmt: skip
"""A cluster stack with every check: autoscaling and Karpenter on."""


def every_check() -> list[tuple[str, Any]]:
    """(name, run(get) -> results) of every cluster check the lab runs, gpu and cluster ones included."""
    cases: list[tuple[str, Any]] = [
        (name, lambda get, c=check, n=name: checks.run_check(n, c, get))
        for name, check in [*checks.after_up_checks(gpu=True, events=None), *checks.cluster_checks(EXPECTED)]
    ]
    cases += [
        ("data-claims-survive-destroy", lambda get: checks.after_destroy(get, {"tracing/tempo-0": "u1"})[0]),
        ("only-data-left-after-destroy", lambda get: checks.after_destroy(get, {"tracing/tempo-0": "u1"})[1]),
        ("second-up-reuses-claims", lambda get: checks.rebound(get, {"tracing/tempo-0": "u1"})),
    ]
    return cases


@pytest.mark.parametrize(("name", "run"), every_check(), ids=[name for name, _ in every_check()])
def test_each_check_fails_with_the_reason_against_a_stopped_api_server(
    name: str, run: Any, stopped_api_server: checks.Get
) -> None:
    result = run(stopped_api_server)
    assert result["name"] == name
    assert result["ok"] is False, result
    message = result["message"]
    assert "evidence unreadable" in message and "`kubectl get " in message and "exited 1" in message, message
    assert "127.0.0.1:1" in message, "the last line of kubectl's stderr names the unreachable server"


@pytest.mark.parametrize(("name", "run"), every_check(), ids=[name for name, _ in every_check()])
def test_each_check_fails_on_an_error_answer_instead_of_an_empty_list(name: str, run: Any) -> None:
    result = run(runner_shaped)
    assert result["ok"] is False and "127.0.0.1:1 was refused" in result["message"], result


def test_after_up_runs_every_check_and_names_each(stopped_api_server: checks.Get) -> None:
    results = checks.after_up(stopped_api_server, gpu=True)
    assert [r["name"] for r in results] == [name for name, _ in checks.after_up_checks(gpu=True, events=None)]
    assert not any(r["ok"] for r in results)


def test_claims_before_destroy_are_never_an_empty_guess(stopped_api_server: checks.Get) -> None:
    with pytest.raises(checks.EvidenceError, match="exited 1"):
        checks.claims(stopped_api_server)


def test_kubectl_answers_without_json_or_items_are_unreadable() -> None:
    def answering(stdout: str, code: int = 0, stderr: str = "") -> checks.Get:
        return checks.kubectl_get(lambda *args: subprocess.CompletedProcess(args, code, stdout, stderr))

    with pytest.raises(checks.EvidenceError, match="printed no JSON"):
        answering("Error from server")("pods")
    with pytest.raises(checks.EvidenceError, match="without an items list"):
        answering('{"kind": "Status"}')("pods")
    with pytest.raises(checks.EvidenceError, match=r"exited 127: kubectl: not found"):
        answering("", 127, "line one\nkubectl: not found\n")("pods")
    assert answering('{"items": []}')("pods") == {"items": []}


def test_a_cluster_without_pods_is_no_evidence_of_none_pending() -> None:
    assert not checks.no_pending_pods(cluster(pods=[]))["ok"]
    running = {"metadata": meta("a"), "status": {"phase": "Running"}}
    assert checks.no_pending_pods(cluster(pods=[running]))["ok"]


def test_forbidden_kinds_are_reported() -> None:
    ingress = {"metadata": meta("grafana", "monitoring")}
    assert checks.nothing_forbidden(cluster())["ok"]
    result = checks.nothing_forbidden(cluster(ingresses=[ingress]))
    assert not result["ok"] and "monitoring/grafana" in result["message"]


def test_node_exporter_needs_the_opt_out() -> None:
    good = {"metadata": meta("kps-prometheus-node-exporter-abc", labels={"sidecar.istio.io/inject": "false"})}
    bad = {"metadata": meta("kps-prometheus-node-exporter-xyz", labels={})}
    assert checks.node_exporter_opt_out(cluster(pods=[good]))["ok"]
    assert not checks.node_exporter_opt_out(cluster(pods=[good, bad]))["ok"]
    assert not checks.node_exporter_opt_out(cluster(pods=[]))["ok"], "no node-exporter at all is a failure"


def test_gpu_only_for_engines_on_the_gpu_node() -> None:
    def pod(name: str, node: str, gpu: bool) -> dict[str, Any]:
        limits = {"nvidia.com/gpu": 1} if gpu else {}
        return {"metadata": meta(name), "spec": {"nodeName": node, "containers": [{"resources": {"limits": limits}}]}}

    assert checks.gpu_placement(cluster(pods=[pod("vllm-1", "kwok-gpu-0", True), pod("x", "kwok-cpu-0", False)]))["ok"]
    assert not checks.gpu_placement(cluster(pods=[pod("vllm-1", "kwok-cpu-0", True)]))["ok"]
    assert not checks.gpu_placement(cluster(pods=[pod("vllm-1", "kwok-gpu-0", True), pod("x", "kwok-gpu-0", True)]))[
        "ok"
    ]


def test_gpu_daemons_only_on_gpu_nodes() -> None:
    gpu_node = {"metadata": meta("kwok-gpu-0", labels={"nvidia.com/gpu.present": "true"})}
    cpu_node = {"metadata": meta("kwok-cpu-0", labels={})}

    def pod(name: str, node: str) -> dict[str, Any]:
        return {"metadata": meta(name, "gpu"), "spec": {"nodeName": node}}

    good = [pod("nvidia-device-plugin-a", "kwok-gpu-0"), pod("dcgm-exporter-b", "kwok-gpu-0")]
    assert checks.gpu_daemons_on_gpu_nodes(cluster(nodes=[gpu_node, cpu_node], pods=good))["ok"]
    on_cpu = [*good, pod("dcgm-exporter-c", "kwok-cpu-0")]
    assert not checks.gpu_daemons_on_gpu_nodes(cluster(nodes=[gpu_node, cpu_node], pods=on_cpu))["ok"]
    missing = good[:1]
    assert not checks.gpu_daemons_on_gpu_nodes(cluster(nodes=[gpu_node, cpu_node], pods=missing))["ok"]
    assert not checks.gpu_daemons_on_gpu_nodes(cluster(nodes=[gpu_node], pods=good))["ok"], "no CPU node: no proof"


def test_pending_pods_and_unbound_claims_fail() -> None:
    pending = {"metadata": meta("a"), "status": {"phase": "Pending"}}
    assert not checks.no_pending_pods(cluster(pods=[pending]))["ok"]
    claim = {"metadata": meta("c"), "status": {"phase": "Pending"}}
    assert not checks.pvcs_bound(cluster(pvc=[claim]))["ok"]
    assert checks.pvcs_bound(cluster(pvc=[{"metadata": meta("c"), "status": {"phase": "Bound"}}]))["ok"]


def test_report_summary_names_failures() -> None:
    report = Report("dev", resources=10, phases=[Phase("up", 12.0, True), Phase("destroy", 3.0, False, "boom")])
    report.checks = [{"name": "pvcs-bound", "ok": True, "message": ""}]
    line = report.summary()
    assert line.startswith("lab: stack=dev resources=10 checks=1/1")
    assert "FAILED (destroy)" in line
    assert report.to_json()["phases"] == {"up": 12.0, "destroy": 3.0}


def claim(name: str, uid: str, phase: str = "Bound") -> dict[str, Any]:
    return {"metadata": meta(name, "tracing", uid=uid), "status": {"phase": phase}}


def test_destroy_keeps_the_data_claims_and_nothing_else() -> None:
    before = checks.claims(cluster(pvc=[claim("tempo-0", "u1"), claim("queue-0", "u2")]))
    kept = cluster(pvc=[claim("tempo-0", "u1"), claim("queue-0", "u2")])
    assert all(c["ok"] for c in checks.after_destroy(kept, before))

    lost = checks.after_destroy(cluster(pvc=[claim("tempo-0", "u1")]), before)
    assert not lost[0]["ok"] and "tracing/queue-0" in lost[0]["message"]

    service = {"metadata": meta("tempo", "tracing")}
    root_ca = {"metadata": meta("kube-root-ca.crt", "tracing")}
    crd = {"metadata": meta("gateways.gateway.networking.k8s.io", "")}
    left = checks.after_destroy(
        cluster(
            pvc=[claim("tempo-0", "u1"), claim("queue-0", "u2")], services=[service], configmaps=[root_ca], crd=[crd]
        ),
        before,
    )
    assert left[0]["ok"] and not left[1]["ok"]
    assert "services/tracing/tempo" in left[1]["message"] and "crd/gateways" in left[1]["message"]
    assert "kube-root-ca.crt" not in left[1]["message"]
    assert not checks.after_destroy(cluster(), {})[0]["ok"], "nothing retained at all is a failure"


def test_a_pods_own_ephemeral_claim_is_not_data() -> None:
    cache = claim("vllm-abc-model-cache", "u3")
    cache["metadata"]["ownerReferences"] = [{"kind": "Pod", "name": "vllm-abc", "controller": True}]
    before = checks.claims(cluster(pvc=[claim("tempo-0", "u1"), cache]))
    assert before == {"tracing/tempo-0": "u1"}
    assert checks.after_destroy(cluster(pvc=[claim("tempo-0", "u1")]), before)[0]["ok"]


def test_second_up_must_reuse_the_same_claims() -> None:
    before = {"tracing/tempo-0": "u1"}
    assert checks.rebound(cluster(pvc=[claim("tempo-0", "u1")]), before)["ok"]
    assert not checks.rebound(cluster(pvc=[claim("tempo-0", "new")]), before)["ok"], "a new claim lost the data"
    assert not checks.rebound(cluster(pvc=[claim("tempo-0", "u1", "Pending")]), before)["ok"]


def test_changed_resources_from_diff_output() -> None:
    output = """
  pulumi:pulumi:Stack: (same)
    [urn=urn:pulumi:dev::llm-tracing-infra::pulumi:pulumi:Stack::llm-tracing-infra-dev]
    ~ kubernetes:core/v1:Secret: (update)
        [id=monitoring/kps-grafana]
        [urn=urn:pulumi:dev::llm-tracing-infra::x$kubernetes:core/v1:Secret::monitoring-kps:monitoring/kps-grafana]
      ~ data: {}
    +-kubernetes:apps/v1:Deployment: (replace)
        [urn=urn:pulumi:dev::llm-tracing-infra::kubernetes:apps/v1:Deployment::litellm]
error: no changes were expected for preview but changes were proposed
"""
    assert changed_resources(output) == [
        "update kubernetes:core/v1:Secret monitoring-kps:monitoring/kps-grafana",
        "replace kubernetes:apps/v1:Deployment litellm",
    ]


def test_every_platform_workload_must_exist() -> None:
    def named(*names: str) -> list[dict[str, Any]]:
        return [{"metadata": meta(n)} for n in names]

    dev = ["istiod", "kps-operator", "kps-grafana", "litellm", "mock-llm"]
    sets = ["tempo", "otel-collector", "loki"]
    assert checks.workloads(gpu=False)(cluster(deployments=named(*dev), statefulsets=named(*sets)))["ok"]
    result = checks.workloads(gpu=False)(cluster(deployments=named(*dev[:-1]), statefulsets=named(*sets)))
    assert not result["ok"] and "mock-llm" in result["message"]
    assert not checks.workloads(gpu=True)(cluster(deployments=named(*dev), statefulsets=named(*sets)))["ok"]


def namespace(name: str, level: str | None) -> dict[str, Any]:
    labels = {checks.PSA_ENFORCE: level} if level else {}
    return {"metadata": {"name": name, "labels": labels}}


def test_pod_security_lists_each_namespace_level() -> None:
    get = cluster(namespaces=[namespace("kube-system", None), namespace("llm", "restricted"),
                              namespace("monitoring", "privileged")])
    result = checks.pod_security(get)
    assert result["ok"], result
    assert "llm=restricted" in result["message"] and "monitoring=privileged" in result["message"]
    assert "kube-system" not in result["message"], "system namespaces are not the platform's"


def test_a_platform_namespace_without_a_level_fails() -> None:
    result = checks.pod_security(cluster(namespaces=[namespace("llm", "restricted"), namespace("tracing", None)]))
    assert not result["ok"] and "tracing" in result["message"] and "tracing=NONE" in result["message"]
    only_system = cluster(namespaces=[namespace("default", None)])
    assert not checks.pod_security(only_system)["ok"], "no platform namespace is no evidence"


def test_a_pod_refused_by_pod_security_fails_with_its_workload() -> None:
    refused = {
        "metadata": {"name": "x.1", "namespace": "llm"},
        "reason": "FailedCreate",
        "involvedObject": {"kind": "ReplicaSet", "name": "litellm-5d9"},
        "message": 'Error creating: pods "litellm-5d9-abc" is forbidden: violates PodSecurity "restricted:latest"',
    }
    other = {**refused, "message": "Error creating: exceeded quota"}
    get = cluster(namespaces=[namespace("llm", "restricted")], events=[refused, other])
    result = checks.pod_security(get)
    assert not result["ok"] and "ReplicaSet/llm/litellm-5d9" in result["message"]
    assert checks.pod_security(cluster(namespaces=[namespace("llm", "restricted")], events=[other]))["ok"]
