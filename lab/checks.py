"""Cluster checks after `pulumi up`, through the API server only (no pod proxying).

Fail closed: a check whose evidence cannot be read (``kubectl`` failed, printed no JSON, an event
log is missing) fails and says why (the command, its exit code, the last line of its stderr);
"nothing found" is only ever said about a list the API server really returned.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

Get = Callable[..., dict[str, Any]]
"""``get("crd")`` -> the JSON of ``kubectl get crd -A -o json``; raises ``EvidenceError`` when unreadable."""
Check = Callable[[Get], dict[str, Any]]
Kubectl = Callable[..., "subprocess.CompletedProcess[str]"]


class EvidenceError(RuntimeError):
    """What a check needed could not be read; the check fails with this reason."""


def kubectl_get(kubectl: Kubectl) -> Get:
    """A ``Get`` over ``kubectl get KIND -A -o json`` that raises ``EvidenceError`` instead of guessing."""

    def get(kind: str) -> dict[str, Any]:
        args = ("get", kind, "-A", "-o", "json")
        command = "kubectl " + " ".join(args)
        done = kubectl(*args)
        if done.returncode != 0:
            raise EvidenceError(f"`{command}` exited {done.returncode}: {_last_line(done.stderr)}")
        try:
            answer = json.loads(done.stdout)
        except json.JSONDecodeError as exc:
            raise EvidenceError(f"`{command}` printed no JSON ({exc}): {_last_line(done.stdout)}") from exc
        if not isinstance(answer, dict) or not isinstance(answer.get("items"), list):
            raise EvidenceError(f"`{command}` answered without an items list")
        return answer

    return get


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def _check(name: str, ok: bool, message: str) -> dict[str, Any]:
    return {"name": name, "ok": ok, "message": message}


def _unreadable(name: str, exc: Exception) -> dict[str, Any]:
    return _check(name, False, f"evidence unreadable: {exc}")


def _items(get: Get, kind: str) -> list[dict[str, Any]]:
    """The objects of ``kind``; an answer without a list (or with an ``error``) is unreadable, not empty."""
    answer = get(kind)
    if not isinstance(answer, dict) or answer.get("error") or not isinstance(answer.get("items"), list):
        reason = answer.get("error") if isinstance(answer, dict) else None
        raise EvidenceError(f"cannot list {kind}: {reason or 'the answer has no items list'}")
    return list(answer["items"])


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
    pods = _items(get, "pods")
    pending = [
        f"{p['metadata']['namespace']}/{p['metadata']['name']}"
        for p in pods
        if p.get("status", {}).get("phase") == "Pending"
    ]
    if not pods:  # a platform without a single pod says nothing about pods that cannot start
        return _check("no-pending-pods", False, "no pods at all")
    return _check("no-pending-pods", not pending, f"Pending: {pending}" if pending else f"none of {len(pods)} Pending")


def node_exporter_opt_out(get: Get) -> dict[str, Any]:
    pods = [p for p in _items(get, "pods") if "node-exporter" in p["metadata"]["name"]]
    bad = [
        p["metadata"]["name"]
        for p in pods
        if (p["metadata"].get("labels") or {}).get("sidecar.istio.io/inject") != "false"
        and (p["metadata"].get("annotations") or {}).get("sidecar.istio.io/inject") != "false"
    ]
    return _check("node-exporter-sidecar-opt-out", bool(pods) and not bad, f"{len(pods)} pods, without opt-out: {bad}")


SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
PSA_ENFORCE = "pod-security.kubernetes.io/enforce"


def pod_security(get: Get) -> dict[str, Any]:
    """Every platform namespace carries a Pod Security level the API server enforces, and no pod was refused.

    The message lists each namespace's level (the lab report's record of them). A controller whose
    pod the API server refused under the namespace's level leaves a ``FailedCreate`` event saying
    ``violates PodSecurity``: any such event fails the check with the workload named.
    """
    levels = {
        n["metadata"]["name"]: (n["metadata"].get("labels") or {}).get(PSA_ENFORCE)
        for n in _items(get, "namespaces")
        if n["metadata"]["name"] not in SYSTEM_NAMESPACES
    }
    if not levels:
        return _check("pod-security-levels", False, "no platform namespace at all")
    unlabelled = sorted(name for name, level in levels.items() if not level)
    refused = sorted(
        f"{e['involvedObject'].get('kind')}/{e['metadata']['namespace']}/{e['involvedObject'].get('name')}"
        for e in _items(get, "events")
        if e.get("reason") == "FailedCreate" and "violates PodSecurity" in (e.get("message") or "")
    )
    listed = ", ".join(f"{name}={level or 'NONE'}" for name, level in sorted(levels.items()))
    problems = ([f"without an enforce level: {unlabelled}"] if unlabelled else []) + (
        [f"pods refused by Pod Security: {refused}"] if refused else []
    )
    return _check("pod-security-levels", not problems, "; ".join([*problems, listed]))


GATEWAY_API_GROUP = "gateway.networking.k8s.io"
CRD_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"
DEPLOYMENT_TYPE = "kubernetes:apps/v1:Deployment"


def crds_before_istiod(events: Path | None) -> Check:
    """Every Gateway API CRD finished applying before istiod's Deployment started, by the engine's event log.

    Creation timestamps have one-second resolution (equal ones prove nothing) and a resourceVersion
    changes with every later write, so neither orders creation. The event log of ``pulumi up
    --json`` streams every engine event, numbered (``sequence``, strictly increasing): a CRD's
    ``resOutputsEvent`` is sent when its create call returned, istiod's ``resourcePreEvent`` before
    its create call is made. CRD done < istiod started is a strict order; anything else fails.
    The API server must still show the CRDs and istiod (the log says what was applied, not what is there).
    The log holds one JSON ``EngineEvent`` per line, the format the Automation API's own event-log
    reader parses (``pulumi.automation.events``: ``sequence``, ``metadata.type``/``urn``, ``planning``).
    """

    def check(get: Get) -> dict[str, Any]:
        name = "crds-before-istiod"
        crds = sorted(c["metadata"]["name"] for c in _items(get, "crd") if _is_gateway_api(c["metadata"]["name"]))
        istiod = [d for d in _items(get, "deployments") if d["metadata"]["name"] == "istiod"]
        if not crds or not istiod:
            return _check(name, False, f"in the cluster: Gateway API CRDs={len(crds)} istiod={len(istiod)}")
        steps = engine_steps(events)
        done = {_object_name(urn): seq for seq, kind, typ, urn in reversed(steps) if kind == "done" and typ == CRD_TYPE}
        started = [
            seq
            for seq, kind, typ, urn in steps
            if kind == "pre" and typ == DEPLOYMENT_TYPE and _object_name(urn) == "istiod"
        ]
        unlogged = [c for c in crds if c not in done]
        if unlogged or not started:
            return _check(name, False, f"no apply step in the event log for: {unlogged or ['istiod Deployment']}")
        last_crd = max(crds, key=lambda c: done[c])
        ok = done[last_crd] < started[0]
        return _check(
            name,
            ok,
            f"last Gateway API CRD {last_crd} applied at event {done[last_crd]}, istiod started at event {started[0]}",
        )

    return check


def engine_steps(events: Path | None) -> list[tuple[int, str, str, str]]:
    """(sequence, "pre" | "done", type, urn) of each resource step of an update's event log, in order."""
    if events is None:
        raise EvidenceError("no engine event log (pulumi up --json) to read the apply order from")
    try:
        lines = events.read_text().splitlines()
    except OSError as exc:
        raise EvidenceError(f"engine event log {events} unreadable: {exc}") from exc
    steps = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvidenceError(f"{events}:{number}: not JSON ({exc})") from exc
        for key, kind in (("resourcePreEvent", "pre"), ("resOutputsEvent", "done")):
            body = event.get(key)
            if not isinstance(body, dict) or body.get("planning"):
                continue
            sequence, meta = event.get("sequence"), body.get("metadata") or {}
            if not isinstance(sequence, int):
                raise EvidenceError(f"{events}:{number}: {key} without an integer sequence")
            steps.append((sequence, kind, str(meta.get("type", "")), str(meta.get("urn", ""))))
    if not steps:
        raise EvidenceError(f"engine event log {events} has no resource steps")
    return sorted(steps)


def _is_gateway_api(crd_name: str) -> bool:
    return crd_name.endswith(f".{GATEWAY_API_GROUP}")


def _object_name(urn: str) -> str:
    """``...::mesh-istiod:istio-system/istiod`` -> ``istiod`` (a chart child's name carries prefix and namespace)."""
    return urn.rsplit("::", 1)[-1].rsplit(":", 1)[-1].rsplit("/", 1)[-1]


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
        # the set of nodes: a chart may run more than one DaemonSet under the same name prefix
        daemon: sorted({p["spec"].get("nodeName") or "" for p in _items(get, "pods")
                        if p["metadata"]["name"].startswith(daemon + "-")})
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
    try:
        remaining = claims(get)
    except EvidenceError as exc:
        survive: dict[str, Any] = _unreadable("data-claims-survive-destroy", exc)
    else:
        lost = sorted(set(before) - set(remaining))
        survive = _check(
            "data-claims-survive-destroy",
            bool(before) and not lost and set(remaining) <= set(before),
            f"{len(remaining)} of {len(before)} claims remain" + (f"; lost {lost}" if lost else ""),
        )
    try:
        leftovers = _leftovers(get)
    except EvidenceError as exc:
        return [survive, _unreadable("only-data-left-after-destroy", exc)]
    message = f"left behind: {leftovers[:20]}" if leftovers else "none"
    return [survive, _check("only-data-left-after-destroy", not leftovers, message)]


def _leftovers(get: Get) -> list[str]:
    leftovers = [
        f"{kind}/{o['metadata']['namespace']}/{o['metadata']['name']}"
        for kind in LEFTOVER_KINDS
        for o in _items(get, kind)
        if o["metadata"]["namespace"] not in ("kube-system", "kube-public", "kube-node-lease", "default")
        and (kind, o["metadata"]["name"]) not in CLUSTER_OWNED
    ]
    return leftovers + [f"crd/{c['metadata']['name']}" for c in _items(get, "crd")]


def rebound(get: Get, before: dict[str, str]) -> dict[str, Any]:
    """After a second `pulumi up` the platform uses the claims that survived, not new ones."""
    name = "second-up-reuses-claims"
    try:
        pvcs = _items(get, "pvc")
    except EvidenceError as exc:
        return _unreadable(name, exc)
    now = {f"{c['metadata']['namespace']}/{c['metadata']['name']}": c["metadata"]["uid"] for c in pvcs}
    replaced = sorted(key for key, uid in before.items() if now.get(key) != uid)
    unbound = [c["metadata"]["name"] for c in pvcs if c.get("status", {}).get("phase") != "Bound"]
    ok = bool(before) and not replaced and not unbound
    message = f"{len(before)} retained claims; replaced {replaced}; not Bound {unbound}"
    return _check(name, ok, message)


def after_up_checks(gpu: bool, events: Path | None) -> list[tuple[str, Check]]:
    """(name, check) of every check after `pulumi up`; ``events`` is that update's engine event log."""
    checks: list[tuple[str, Check]] = [
        ("crds-established", crds_established),
        ("gateway-listeners", gateway_listeners),
        *(
            (f"{kind}-exist", exists(kind, minimum))
            for kind, minimum in (
                ("httproutes.gateway.networking.k8s.io", 3),
                ("grpcroutes.gateway.networking.k8s.io", 1),
                ("referencegrants.gateway.networking.k8s.io", 1),
                ("telemetries.telemetry.istio.io", 1),
                ("servicemonitors.monitoring.coreos.com", 1),
                ("prometheusrules.monitoring.coreos.com", 1),
            )
        ),
        ("platform-workloads-exist", workloads(gpu)),
        ("dashboard-configmaps", dashboards),
        ("no-ingress-virtualservice-destinationrule", nothing_forbidden),
        ("no-pending-pods", no_pending_pods),
        ("node-exporter-sidecar-opt-out", node_exporter_opt_out),
        ("pod-security-levels", pod_security),
        ("crds-before-istiod", crds_before_istiod(events)),
        ("pvcs-bound", pvcs_bound),
    ]
    if gpu:
        checks.append(("gpu-only-for-engines-on-gpu-node", gpu_placement))
        checks.append(("gpu-daemons-only-on-gpu-nodes", gpu_daemons_on_gpu_nodes))
    return checks


def run_check(name: str, check: Check, get: Get) -> dict[str, Any]:
    """``check(get)``, or a failure naming why its evidence could not be read."""
    try:
        return check(get)
    except EvidenceError as exc:
        return _unreadable(name, exc)
    except (KeyError, TypeError, AttributeError) as exc:  # an object without the fields a check reads
        return _check(name, False, f"unexpected object shape: {type(exc).__name__}: {exc}")


def after_up(get: Get, gpu: bool, events: Path | None = None) -> list[dict[str, Any]]:
    return [run_check(name, check, get) for name, check in after_up_checks(gpu, events)]


def event_log(workdir: Path, phase: str) -> Path:
    """Where the lab writes ``pulumi up --json``'s event stream the engine events of ``phase``."""
    return workdir / f"{phase}.events.jsonl"
