"""The lab's cluster checks, on API-server-shaped JSON (the lab itself runs them for real)."""

from __future__ import annotations

from typing import Any

from lab import checks
from lab.runner import Phase, Report, changed_resources


def meta(name: str, namespace: str = "default", created: str = "2026-01-01T00:00:00Z", **extra: Any) -> dict:
    return {"name": name, "namespace": namespace, "creationTimestamp": created, **extra}


def cluster(**kinds: list[dict[str, Any]]) -> checks.Get:
    def get(kind: str) -> dict[str, Any]:
        return {"items": kinds.get(kind.split(".")[0], [])}

    return get


def test_crds_before_istiod_uses_creation_timestamps() -> None:
    crd = {"metadata": meta("httproutes.gateway.networking.k8s.io", created="2026-01-01T00:00:05Z")}
    early = {"metadata": meta("istiod", "istio-system", created="2026-01-01T00:00:01Z")}
    late = {"metadata": meta("istiod", "istio-system", created="2026-01-01T00:00:09Z")}
    assert checks.crds_before_istiod(cluster(crd=[crd], deployments=[late]))["ok"]
    assert not checks.crds_before_istiod(cluster(crd=[crd], deployments=[early]))["ok"]


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
