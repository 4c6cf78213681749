"""Cluster checks after `pulumi up`, through the API server only (no pod proxying)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

Get = Callable[..., dict[str, Any]]
"""``get("crd")`` -> the JSON of ``kubectl get crd -o json`` (``-A`` added for namespaced kinds)."""


def _check(name: str, ok: bool, message: str) -> dict[str, Any]:
    return {"name": name, "ok": ok, "message": message}


def _items(get: Get, kind: str) -> list[dict[str, Any]]:
    return list(get(kind).get("items") or [])


def crds_established(get: Get) -> dict[str, Any]:
    wanted = [
        "gateways.gateway.networking.k8s.io",
        "httproutes.gateway.networking.k8s.io",
        "grpcroutes.gateway.networking.k8s.io",
        "referencegrants.gateway.networking.k8s.io",
        "telemetries.telemetry.istio.io",
        "servicemonitors.monitoring.coreos.com",
        "prometheusrules.monitoring.coreos.com",
    ]
    established = {
        c["metadata"]["name"]
        for c in _items(get, "crd")
        if any(x["type"] == "Established" and x["status"] == "True" for x in c.get("status", {}).get("conditions", []))
    }
    missing = [w for w in wanted if w not in established]
    return _check("crds-established", not missing, f"not Established: {missing}" if missing else "all Established")


def gateway_listeners(get: Get) -> dict[str, Any]:
    ports = sorted(
        {
            listener["port"]
            for g in _items(get, "gateways.gateway.networking.k8s.io")
            for listener in g["spec"].get("listeners", [])
        }
    )
    ok = {80, 4317, 4318} <= set(ports)
    return _check("gateway-listeners", ok, f"listener ports {ports}")


def exists(kind: str, minimum: int = 1) -> Callable[[Get], dict[str, Any]]:
    def check(get: Get) -> dict[str, Any]:
        count = len(_items(get, kind))
        return _check(f"{kind}-exist", count >= minimum, f"{count} found (want >= {minimum})")

    return check


def workloads(gpu: bool) -> Callable[[Get], dict[str, Any]]:
    """The platform's workloads, by the names the components give them."""
    wanted = ["istiod", "kps-operator", "kps-grafana", "tempo", "otel-collector", "loki", "litellm"]
    wanted += ["vllm", "langfuse-web", "langfuse-worker", "dcgm-exporter"] if gpu else ["mock-llm"]

    def check(get: Get) -> dict[str, Any]:
        names = {
            o["metadata"]["name"] for kind in ("deployments", "statefulsets", "daemonsets") for o in _items(get, kind)
        }
        missing = [w for w in wanted if not any(n == w or n.startswith(f"{w}-") for n in names)]
        return _check("platform-workloads-exist", not missing, f"missing: {missing}" if missing else f"{wanted}")

    return check


def dashboards(get: Get) -> dict[str, Any]:
    maps = [c for c in _items(get, "configmaps") if (c["metadata"].get("labels") or {}).get("grafana_dashboard")]
    return _check("dashboard-configmaps", bool(maps), f"{len(maps)} ConfigMaps labelled grafana_dashboard")


def nothing_forbidden(get: Get) -> dict[str, Any]:
    found = []
    for kind in (
        "ingresses.networking.k8s.io",
        "virtualservices.networking.istio.io",
        "destinationrules.networking.istio.io",
    ):
        found += [f"{kind}/{i['metadata']['namespace']}/{i['metadata']['name']}" for i in _items(get, kind)]
    return _check("no-ingress-virtualservice-destinationrule", not found, f"found {found}" if found else "none")


def no_pending_pods(get: Get) -> dict[str, Any]:
    pending = [
        f"{p['metadata']['namespace']}/{p['metadata']['name']}"
        for p in _items(get, "pods")
        if p.get("status", {}).get("phase") == "Pending"
    ]
    return _check("no-pending-pods", not pending, f"Pending: {pending}" if pending else "none Pending")


def node_exporter_opt_out(get: Get) -> dict[str, Any]:
    pods = [p for p in _items(get, "pods") if "node-exporter" in p["metadata"]["name"]]
    bad = [
        p["metadata"]["name"]
        for p in pods
        if (p["metadata"].get("labels") or {}).get("sidecar.istio.io/inject") != "false"
        and (p["metadata"].get("annotations") or {}).get("sidecar.istio.io/inject") != "false"
    ]
    return _check("node-exporter-sidecar-opt-out", bool(pods) and not bad, f"{len(pods)} pods, without opt-out: {bad}")


def crds_before_istiod(get: Get) -> dict[str, Any]:
    crds = [c for c in _items(get, "crd") if c["metadata"]["name"].endswith("gateway.networking.k8s.io")]
    istiod = [d for d in _items(get, "deployments") if d["metadata"]["name"] == "istiod"]
    if not crds or not istiod:
        return _check("crds-before-istiod", False, f"crds={len(crds)} istiod={len(istiod)}")
    latest_crd = max(_time(c) for c in crds)
    ok = latest_crd <= _time(istiod[0])
    return _check("crds-before-istiod", ok, f"last Gateway API CRD {latest_crd}, istiod {_time(istiod[0])}")


def pvcs_bound(get: Get) -> dict[str, Any]:
    claims = _items(get, "pvc")
    unbound = [c["metadata"]["name"] for c in claims if c.get("status", {}).get("phase") != "Bound"]
    return _check("pvcs-bound", bool(claims) and not unbound, f"{len(claims)} claims, not Bound: {unbound}")


def gpu_placement(get: Get) -> dict[str, Any]:
    pods = _items(get, "pods")
    gpu_pods = [
        p
        for p in pods
        if any(
            "nvidia.com/gpu" in (c.get("resources", {}).get("limits") or {}) for c in p["spec"].get("containers", [])
        )
    ]
    names = [f"{p['metadata']['name']}@{p['spec'].get('nodeName')}" for p in gpu_pods]
    ok = bool(gpu_pods) and all("vllm" in p["metadata"]["name"] or "sglang" in p["metadata"]["name"] for p in gpu_pods)
    ok = ok and all("gpu" in (p["spec"].get("nodeName") or "") for p in gpu_pods)
    return _check("gpu-only-for-engines-on-gpu-node", ok, f"GPU pods: {names}")


GPU_NODE_LABEL = "nvidia.com/gpu.present"
"""``gpu.nodeLabel``'s default; the simulated GPU node carries it, the CPU node does not."""
GPU_DAEMONS = ("nvidia-device-plugin", "dcgm-exporter")


def gpu_daemons_on_gpu_nodes(get: Get) -> dict[str, Any]:
    """Device plugin and DCGM exporter pods run on every GPU node and on no CPU-only node."""
    nodes = _items(get, "nodes")
    gpu_nodes = {n["metadata"]["name"] for n in nodes if n["metadata"].get("labels", {}).get(GPU_NODE_LABEL) == "true"}
    cpu_nodes = {n["metadata"]["name"] for n in nodes} - gpu_nodes
    placed = {
        daemon: sorted(p["spec"].get("nodeName") or "" for p in _items(get, "pods")
                       if p["metadata"]["name"].startswith(daemon + "-"))
        for daemon in GPU_DAEMONS
    }
    ok = bool(gpu_nodes) and bool(cpu_nodes) and all(sorted(gpu_nodes) == on for on in placed.values())
    return _check("gpu-daemons-only-on-gpu-nodes", ok, f"GPU nodes {sorted(gpu_nodes)}, CPU-only nodes "
                  f"{sorted(cpu_nodes)}, pods on: {placed}")


def claims(get: Get) -> dict[str, str]:
    """``namespace/name`` -> uid of every PersistentVolumeClaim."""
    return {f"{c['metadata']['namespace']}/{c['metadata']['name']}": c["metadata"]["uid"] for c in _items(get, "pvc")}


# Objects the cluster itself puts in every namespace; they say nothing about what destroy left behind.
CLUSTER_OWNED = {("configmaps", "kube-root-ca.crt"), ("serviceaccounts", "default")}
LEFTOVER_KINDS = ("deployments", "statefulsets", "daemonsets", "services", "configmaps", "jobs")


def after_destroy(get: Get, before: dict[str, str]) -> list[dict[str, Any]]:
    """Retained data claims (and only those) survive `pulumi destroy`; workloads and CRDs are gone."""
    remaining = claims(get)
    lost = sorted(set(before) - set(remaining))
    results = [
        _check(
            "data-claims-survive-destroy",
            bool(before) and not lost and set(remaining) <= set(before),
            f"{len(remaining)} of {len(before)} claims remain" + (f"; lost {lost}" if lost else ""),
        )
    ]
    leftovers = [
        f"{kind}/{o['metadata']['namespace']}/{o['metadata']['name']}"
        for kind in LEFTOVER_KINDS
        for o in _items(get, kind)
        if o["metadata"]["namespace"] not in ("kube-system", "kube-public", "kube-node-lease", "default")
        and (kind, o["metadata"]["name"]) not in CLUSTER_OWNED
    ]
    crds = [c["metadata"]["name"] for c in _items(get, "crd")]
    leftovers += [f"crd/{n}" for n in crds]
    results.append(
        _check("only-data-left-after-destroy", not leftovers, f"left behind: {leftovers[:20]}" if leftovers else "none")
    )
    return results


def rebound(get: Get, before: dict[str, str]) -> dict[str, Any]:
    """After a second `pulumi up` the platform uses the claims that survived, not new ones."""
    now = claims(get)
    replaced = sorted(key for key, uid in before.items() if now.get(key) != uid)
    unbound = [c["metadata"]["name"] for c in _items(get, "pvc") if c.get("status", {}).get("phase") != "Bound"]
    ok = bool(before) and not replaced and not unbound
    message = f"{len(before)} retained claims; replaced {replaced}; not Bound {unbound}"
    return _check("second-up-reuses-claims", ok, message)


def _time(obj: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(obj["metadata"]["creationTimestamp"].replace("Z", "+00:00"))


def after_up(get: Get, gpu: bool) -> list[dict[str, Any]]:
    checks = [
        crds_established,
        gateway_listeners,
        exists("httproutes.gateway.networking.k8s.io", 3),
        exists("grpcroutes.gateway.networking.k8s.io"),
        exists("referencegrants.gateway.networking.k8s.io"),
        exists("telemetries.telemetry.istio.io"),
        exists("servicemonitors.monitoring.coreos.com"),
        exists("prometheusrules.monitoring.coreos.com"),
        workloads(gpu),
        dashboards,
        nothing_forbidden,
        no_pending_pods,
        node_exporter_opt_out,
        crds_before_istiod,
        pvcs_bound,
    ]
    if gpu:
        checks += [gpu_placement, gpu_daemons_on_gpu_nodes]
    results = []
    for check in checks:
        try:
            results.append(check(get))
        except Exception as exc:  # a check that cannot read its objects fails, with the reason
            results.append(_check(getattr(check, "__name__", "check"), False, f"{type(exc).__name__}: {exc}"))
    return results
