"""Cluster checks after `pulumi up`, through the API server only (no pod proxying).

Fail closed: a check whose evidence cannot be read (``kubectl`` failed, printed no JSON, an event
log is missing) fails and says why (the command, its exit code, the last line of its stderr);
"nothing found" is only ever said about a list the API server really returned.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab import https, placement
from lab.placement import GpuPool
from lab.reset import SYSTEM_NAMESPACES

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
    """``namespace/name`` -> uid of every data claim: a PersistentVolumeClaim that is not a pod's own.

    A generic ephemeral volume's claim (an autoscaled engine's model cache) is owned by its Pod and
    goes with it by design, so neither retention nor a second ``up`` concerns it.
    """
    return {
        f"{c['metadata']['namespace']}/{c['metadata']['name']}": c["metadata"]["uid"]
        for c in _items(get, "pvc")
        if not any(o.get("kind") == "Pod" for o in c["metadata"].get("ownerReferences") or [])
    }


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
        if o["metadata"]["namespace"] not in SYSTEM_NAMESPACES
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


# ---------------------------------------------------------------------------------------------
# A cluster of several nodes (a stack with a dedicated GPU pool: ``cluster``)
# ---------------------------------------------------------------------------------------------

AUTOSCALER_KINDS = ("HorizontalPodAutoscaler", "ScaledObject")
AUTOSCALING_KINDS = ("ScaledObject",)
KARPENTER_KINDS = ("NodePool", "EC2NodeClass")


@dataclass(frozen=True)
class ClusterExpectations:
    """What a stack with a dedicated GPU pool must show after ``up``: from its configuration and state."""

    pool: GpuPool
    autoscalers: tuple[str, ...]
    """``Kind/namespace/name`` of every HPA and ScaledObject in the stack's state."""
    sent: dict[str, dict[str, Any]]
    """``Kind/namespace/name`` -> inputs of each custom resource of ``custom_kinds`` in the state."""
    custom_kinds: tuple[str, ...]
    """What the configuration promises: ScaledObject (``autoscaling``), NodePool/EC2NodeClass (Karpenter)."""


def expectations(pool: GpuPool, export: dict[str, Any], *, autoscaling: bool, karpenter: bool) -> ClusterExpectations:
    """The expectations of a stack from its pool, its ``pulumi stack export`` and the two switches."""
    kinds = (*(AUTOSCALING_KINDS if autoscaling else ()), *(KARPENTER_KINDS if karpenter else ()))
    made = placement.sent_objects(export, AUTOSCALER_KINDS)
    return ClusterExpectations(pool, tuple(sorted(made)), placement.sent_objects(export, kinds), kinds)


def _workloads(get: Get) -> list[dict[str, Any]]:
    """Deployments and StatefulSets, each with its ``kind`` (a list's items may leave it out)."""
    return [
        {**w, "kind": kind} for resource, kind in (("deployments", "Deployment"), ("statefulsets", "StatefulSet"))
        for w in _items(get, resource)
    ]  # fmt: skip


def _made_scalers(get: Get, made: tuple[str, ...]) -> list[placement.Scaler]:
    """The cluster's autoscalers; ScaledObjects only read when the stack made one (else KEDA's CRD may be absent)."""
    scaled = _items(get, "scaledobjects.keda.sh") if any(m.startswith("ScaledObject/") for m in made) else []
    return placement.scalers(_items(get, "hpa"), scaled)


def gpu_pods_on_pool(pool: GpuPool) -> Check:
    def check(get: Get) -> dict[str, Any]:
        pods, nodes = _items(get, "pods"), _items(get, "nodes")
        pool_nodes = placement.gpu_nodes(nodes, pool.label)
        off = placement.gpu_pods_off_pool(pods, pool_nodes, pool.gpu_namespace)
        gpu_pods = sorted(
            f"{p['metadata']['name']}@{p['spec'].get('nodeName')}" for p in pods if placement.requests_gpu(p)
        )
        ok = bool(pool_nodes) and bool(gpu_pods) and not off
        message = "; ".join(off) or f"GPU pods {gpu_pods} on the pool {sorted(pool_nodes)}"
        return _check("gpu-pods-on-gpu-pool", ok, message if gpu_pods else "no pod asks for a GPU")

    return check


def nothing_else_on_pool(pool: GpuPool) -> Check:
    def check(get: Get) -> dict[str, Any]:
        pods, nodes = _items(get, "pods"), _items(get, "nodes")
        pool_nodes = placement.gpu_nodes(nodes, pool.label)
        others = placement.others_on_pool(pods, pool_nodes, pool.taint, pool.gpu_namespace)
        agents = placement.node_agents_on(pods, pool_nodes, pool.gpu_namespace)
        ok = bool(pool_nodes) and not others
        message = "; ".join(others) or f"only GPU workloads on {sorted(pool_nodes)}; node agents excepted: {agents}"
        return _check("nothing-else-on-gpu-pool", ok, message)

    return check


def replicas_spread(made: tuple[str, ...]) -> Check:
    """Replicated workloads (``placement.replicated``) with two pods or more run them on two nodes or more."""

    def check(get: Get) -> dict[str, Any]:
        workloads, pods, nodes = _workloads(get), _items(get, "pods"), _items(get, "nodes")
        chosen = placement.replicated(workloads, _made_scalers(get, made))
        problems, spread = placement.unspread(workloads, set(chosen), pods, nodes)
        ok = bool(spread) and not problems
        idle = f"no replicated workload runs two pods ({chosen})"
        message = "; ".join(problems) or (f"spread: {spread}" if spread else idle)
        return _check("replicas-spread-over-nodes", ok, message)

    return check


def pdbs_for_replicated(made: tuple[str, ...]) -> Check:
    def check(get: Get) -> dict[str, Any]:
        workloads, scaling = _workloads(get), _made_scalers(get, made)
        chosen = placement.replicated(workloads, scaling)
        missing = placement.uncovered(workloads, set(chosen), _items(get, "pdb"))
        single = placement.single_minimum(workloads, scaling)
        ok = bool(chosen) and not missing
        message = f"no PDB for {missing}" if missing else f"a PDB for each of {sorted(chosen)}"
        return _check("pdbs-for-replicated-workloads", ok, f"{message}; at one replica by their minimum: {single}")

    return check


def autoscalers_made(made: tuple[str, ...]) -> Check:
    def check(get: Get) -> dict[str, Any]:
        workloads, scaling = _workloads(get), _made_scalers(get, made)
        problems = placement.autoscaler_problems(scaling, workloads, list(made))
        problems += placement.short_of_minimum(scaling, workloads)
        ok = bool(made) and not problems
        targets = sorted(f"{s.key} -> {s.target}" for s in scaling if s.key in made)
        message = ("; ".join(problems) or f"{targets}") if made else "the stack's state has no autoscaler"
        return _check("autoscalers-target-workloads", ok, message)

    return check


def stored_as_sent(name: str, sent: dict[str, dict[str, Any]], kinds: tuple[str, ...]) -> Check:
    """Each custom resource of ``kinds`` the stack sent is stored, every field kept, under an Established CRD."""

    def check(get: Get) -> dict[str, Any]:
        wanted = {k: v for k, v in sent.items() if k.split("/", 1)[0] in kinds}
        crds = {(c["spec"]["group"], c["spec"]["names"]["kind"]): c for c in _items(get, "crd")}
        problems, stored = [], []
        for kind in kinds:
            groups = {v.get("apiVersion", "").rpartition("/")[0] for k, v in wanted.items() if k.startswith(f"{kind}/")}
            for group in sorted(groups):
                crd = crds.get((group, kind))
                if crd is None or not _established(crd):
                    problems.append(f"no Established CRD for {kind}.{group}")
                    continue
                listed = _items(get, f"{crd['spec']['names']['plural']}.{group}")
                stored += [{**o, "kind": kind} for o in listed]  # a list's items may leave their kind out
        problems += placement.stored_as_sent(wanted, stored, kinds)
        return _check(name, not problems, "; ".join(problems) or f"stored with every field sent: {sorted(wanted)}")

    return check


HTTPS_KINDS = ("ClusterIssuer", "Certificate")
GATEWAYS, HTTP_ROUTES = "gateways.gateway.networking.k8s.io", "httproutes.gateway.networking.k8s.io"
GRPC_ROUTES = "grpcroutes.gateway.networking.k8s.io"


def https_checks(sent: dict[str, dict[str, Any]]) -> list[tuple[str, Check]]:
    """With ``gateway.https``: port 80 only redirects, the HTTPS listener serves a Certificate's Secret,
    and cert-manager's objects (``sent``: the stack's ClusterIssuers and Certificates) are stored as sent."""
    wanted_issuers = {key.rsplit("/", 1)[-1] for key in sent if key.startswith("ClusterIssuer/")}

    def redirect(get: Get) -> dict[str, Any]:
        # GRPCRoutes too: they cannot redirect, so one bound to port 80 serves plain traffic.
        routes = [{"kind": "HTTPRoute", **r} for r in _items(get, HTTP_ROUTES)]
        routes += [{"kind": "GRPCRoute", **r} for r in _items(get, GRPC_ROUTES)]
        problems, redirects = https.plain_http_problems(_items(get, GATEWAYS), routes)
        return _check("port-80-only-redirects", not problems, "; ".join(problems) or f"only redirects: {redirects}")

    def tls(get: Get) -> dict[str, Any]:
        certificates = _items(get, "certificates.cert-manager.io")
        issuers = _items(get, "clusterissuers.cert-manager.io")
        problems = https.tls_problems(_items(get, GATEWAYS), certificates, issuers, wanted_issuers)
        problems += [] if wanted_issuers else ["the stack's state has no ClusterIssuer"]
        message = "; ".join(problems) or f"HTTPS listener wired to its Certificate; issuers {sorted(wanted_issuers)}"
        return _check("https-listener-certificate", not problems, message)

    stored = stored_as_sent("cert-manager-objects-stored-as-sent", sent, HTTPS_KINDS)
    return [("port-80-only-redirects", redirect), ("https-listener-certificate", tls),
            ("cert-manager-objects-stored-as-sent", stored)]  # fmt: skip


def after_up_https(get: Get, export: dict[str, Any]) -> list[dict[str, Any]]:
    return [run_check(name, check, get) for name, check in https_checks(placement.sent_objects(export, HTTPS_KINDS))]


def _established(crd: dict[str, Any]) -> bool:
    conditions = crd.get("status", {}).get("conditions", [])
    return any(x["type"] == "Established" and x["status"] == "True" for x in conditions)


def cluster_checks(expected: ClusterExpectations) -> list[tuple[str, Check]]:
    """(name, check) after ``up`` of a stack with a dedicated GPU pool."""
    checks: list[tuple[str, Check]] = [
        ("gpu-pods-on-gpu-pool", gpu_pods_on_pool(expected.pool)),
        ("nothing-else-on-gpu-pool", nothing_else_on_pool(expected.pool)),
        ("replicas-spread-over-nodes", replicas_spread(expected.autoscalers)),
        ("pdbs-for-replicated-workloads", pdbs_for_replicated(expected.autoscalers)),
        ("autoscalers-target-workloads", autoscalers_made(expected.autoscalers)),
    ]
    stored = (("scaledobjects-stored-as-sent", AUTOSCALING_KINDS), ("karpenter-stored-as-sent", KARPENTER_KINDS))
    for name, kinds in stored:
        if set(kinds) <= set(expected.custom_kinds):
            checks.append((name, stored_as_sent(name, expected.sent, kinds)))
    return checks


def after_up_cluster(get: Get, expected: ClusterExpectations) -> list[dict[str, Any]]:
    return [run_check(name, check, get) for name, check in cluster_checks(expected)]


def wait_for_minimum(
    get: Get, timeout: float, sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic
) -> tuple[float, list[str]]:
    """Until the HPA controller has brought every HPA's target to ``minReplicas``: (seconds, what is still short).

    The HPA controller acts on its own period (15 s), maybe after ``up`` returned; unreadable evidence stops the wait.
    """
    start = clock()
    while True:
        try:
            short = placement.short_of_minimum(placement.scalers(_items(get, "hpa"), []), _workloads(get))
        except EvidenceError as exc:
            return clock() - start, [str(exc)]
        if not short or clock() - start >= timeout:
            return clock() - start, short
        sleep(5)


def keda_made_hpas(
    sent: dict[str, dict[str, Any]],
    operator_alive: Callable[[], bool],
    operator_log: Callable[[], str],
    timeout: float = 90.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Check:
    """The real KEDA operator (``lab/keda.py``) turned every ScaledObject the stack sent into its HPA.

    Waits up to ``timeout`` for the operator's first reconciles; an operator that exited fails the
    check with its log's tail, and the ScaledObjects' Ready/Fallback conditions are reported.
    """

    def check(get: Get) -> dict[str, Any]:
        start = clock()
        while True:
            scaled = _items(get, "scaledobjects.keda.sh")
            problems, found = placement.keda_hpa_problems(sent, _items(get, "hpa"))
            problems += placement.keda_not_ready(sent, scaled)
            if not problems or clock() - start >= timeout or not operator_alive():
                break
            sleep(3)
        if not operator_alive():
            problems.append(f"the KEDA operator exited: {operator_log()[-1500:]}")
        states = [
            f"{o['metadata']['namespace']}/{o['metadata']['name']}: "
            + ",".join(f"{c.get('type')}={c.get('status')}" for c in (o.get("status") or {}).get("conditions") or [])
            for o in scaled
        ]
        message = "; ".join(problems) or f"made by the operator: {found}; conditions: {states}"
        return _check("keda-operator-made-hpas", not problems, message)

    return check


def not_provable(expected: ClusterExpectations, keda_ran: bool = False) -> list[dict[str, str]]:
    """What the simulated cluster cannot show, named with the reason (the lab fakes none of it)."""
    found = []
    for key, inputs in sorted(expected.sent.items()):
        if key.startswith("ScaledObject/") and not keda_ran:
            hpa = placement.keda_hpa_name(inputs)
            found.append({
                "name": f"keda-creates-hpa {key}",
                "why": f"KEDA's operator did not run in this lab (a cluster of KUBECONFIG, no KEDA installed, or "
                f"it could not start: keda-operator-started), so nothing turned {key} into its HPA {hpa}; the lab "
                "does not make one. Proven instead: the API server stored the ScaledObject under KEDA's CRD with "
                "every field sent, its target exists and no other autoscaler has it.",
            })  # fmt: skip
    if any(k.startswith("NodePool/") for k in expected.sent):
        found.append({
            "name": "karpenter-launches-gpu-nodes",
            "why": "no Karpenter controller and no EC2 here: the NodePool and EC2NodeClass are only proven valid "
            "(accepted by the API server under Karpenter's CRDs, CEL rules included); the lab labels its GPU nodes "
            "as Karpenter would label the nodes it launches for the pool.",
        })  # fmt: skip
    return found
