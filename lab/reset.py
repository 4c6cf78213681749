"""Reset between lab stacks on one cluster: what a stack's `pulumi destroy` left, and cleaning it.

Several stacks share one simulated cluster in a lab run, so a stack must leave nothing behind
but what retention keeps on purpose. The stack's own state says what it made: every Kubernetes
object in ``pulumi stack export`` (taken just before the last destroy), with its
``retainOnDelete`` flag. After the destroy, an object without that flag that still exists is a
leftover, and so is a namespace that is neither the cluster's own nor a retained one of the stack.
The retained objects (data namespaces, Langfuse's credentials) and the claims in those namespaces
are then deleted by the lab, deliberately and by name, and the cluster is checked clean again
before the next stack starts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

Kubectl = Callable[..., Any]
"""``kubectl(*args)`` -> a ``subprocess.CompletedProcess[str]``."""

SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
GONE = ("the server doesn't have a resource type", "could not find the requested resource")
"""kubectl's words for a kind the API server no longer serves (its CRD went with the stack)."""


@dataclass(frozen=True)
class KubeObject:
    api_version: str
    kind: str
    namespace: str
    name: str
    retained: bool

    @property
    def resource(self) -> str:
        """The argument kubectl takes for this kind: ``Deployment.v1.apps``; core kinds by name."""
        group, _, version = self.api_version.rpartition("/")
        return f"{self.kind}.{version}.{group}" if group else self.kind

    def label(self) -> str:
        return f"{self.kind}/{self.namespace + '/' if self.namespace else ''}{self.name}"


def stack_objects(export: dict[str, Any]) -> tuple[list[KubeObject], list[str]]:
    """The Kubernetes objects of a ``pulumi stack export``, and the URNs whose identity is unreadable."""
    objects, unreadable = [], []
    for resource in (export.get("deployment") or {}).get("resources") or []:
        kind_type = str(resource.get("type", ""))
        if not resource.get("custom") or not kind_type.startswith("kubernetes:"):  # not providers, components
            continue
        outputs = resource.get("outputs") or {}
        metadata: dict[str, Any] = outputs["metadata"] if isinstance(outputs.get("metadata"), dict) else {}
        api_version, kind, name = outputs.get("apiVersion"), outputs.get("kind"), metadata.get("name")
        if not (isinstance(api_version, str) and isinstance(kind, str) and isinstance(name, str)):
            unreadable.append(str(resource.get("urn")))
            continue
        namespace = str(metadata.get("namespace") or "")
        objects.append(KubeObject(api_version, kind, namespace, name, bool(resource.get("retainOnDelete"))))
    return objects, unreadable


def present(kubectl: Kubectl, objects: Iterable[KubeObject]) -> tuple[list[KubeObject], list[str]]:
    """Which of ``objects`` the cluster still has, and the kinds it could not list (with why)."""
    by_kind: dict[str, list[KubeObject]] = {}
    for obj in objects:
        by_kind.setdefault(obj.resource, []).append(obj)

    def listed(resource: str) -> tuple[str, set[tuple[str, str]] | None, str]:
        done = kubectl("get", resource, "-A", "-o", "json")
        if done.returncode != 0:
            gone = any(words in done.stderr for words in GONE)
            return resource, (set() if gone else None), done.stderr.strip()[-300:]
        items = json.loads(done.stdout).get("items") or []
        return resource, {(i["metadata"].get("namespace", ""), i["metadata"]["name"]) for i in items}, ""

    found, errors = [], []
    with ThreadPoolExecutor(max_workers=4) as pool:
        for resource, names, error in pool.map(listed, sorted(by_kind)):
            if names is None:
                errors.append(f"{resource}: {error}")
                continue
            for obj in by_kind[resource]:
                namespaces = {obj.namespace} if obj.namespace else {"", "default"}
                if any((ns, obj.name) in names for ns in namespaces):
                    found.append(obj)
    return found, errors


def namespaces(kubectl: Kubectl) -> list[str] | None:
    done = kubectl("get", "namespaces", "-o", "json")
    if done.returncode != 0:
        return None
    return sorted(n["metadata"]["name"] for n in json.loads(done.stdout).get("items") or [])


def _check(name: str, ok: bool, message: str) -> dict[str, Any]:
    return {"name": name, "ok": ok, "message": message}


def only_retained_left(kubectl: Kubectl, objects: list[KubeObject], unreadable: list[str]) -> dict[str, Any]:
    """After the stack's last destroy: nothing of it is left but its retained objects."""
    left, errors = present(kubectl, objects)
    leftovers = [o.label() for o in left if not o.retained]
    kept = {o.name for o in left if o.retained and o.kind == "Namespace"}
    names = namespaces(kubectl)
    stray = [n for n in names or [] if n not in SYSTEM_NAMESPACES and n not in kept]
    ok = bool(objects) and not leftovers and not stray and not errors and not unreadable and names is not None
    problems = []
    if leftovers:
        problems.append(f"left behind: {leftovers[:20]}")
    if stray:
        problems.append(f"namespaces neither the cluster's nor retained: {stray}")
    if errors or names is None:
        problems.append(f"could not list: {errors[:5] or ['namespaces']}")
    if unreadable:
        problems.append(f"state entries without kind/name: {unreadable[:5]}")
    if not objects:
        problems.append("the stack's state named no Kubernetes objects")
    retained = sorted(o.label() for o in left if o.retained)
    message = "; ".join(problems) or f"{len(objects)} objects of the stack: all gone but {len(retained)}: {retained}"
    return _check("reset-only-retained-left", ok, message)


def clean_retained(kubectl: Kubectl, objects: list[KubeObject]) -> list[str]:
    """Delete what retention kept (namespaces with their claims, cluster-scoped objects), by name."""
    left, _ = present(kubectl, [o for o in objects if o.retained])
    retained_namespaces = sorted({o.name for o in left if o.kind == "Namespace"})
    deleted = []
    for obj in left:
        if obj.kind != "Namespace" and obj.namespace not in retained_namespaces:
            scope = ["-n", obj.namespace] if obj.namespace else []
            kubectl("delete", obj.resource, obj.name, *scope, "--wait=true", "--timeout=120s")
            deleted.append(obj.label())
    if retained_namespaces:
        kubectl("delete", "namespace", *retained_namespaces, "--wait=true", "--timeout=180s")
        deleted += [f"Namespace/{n} (with its claims and retained Secrets)" for n in retained_namespaces]
    # Claims' volumes of the deleted namespaces (the fake provisioner's PersistentVolumes).
    volumes = kubectl("get", "pv", "-o", "json")
    if volumes.returncode == 0:
        names = [
            pv["metadata"]["name"]
            for pv in json.loads(volumes.stdout).get("items") or []
            if ((pv.get("spec") or {}).get("claimRef") or {}).get("namespace") in retained_namespaces
        ]
        if names:
            kubectl("delete", "pv", *names, "--wait=true", "--timeout=120s")
            deleted += [f"PersistentVolume/{name}" for name in names]
    return deleted


def cluster_clean(kubectl: Kubectl, objects: list[KubeObject]) -> dict[str, Any]:
    """Before the next stack: none of the stack's objects, no namespace but the cluster's, no claims."""
    left, errors = present(kubectl, objects)
    names = namespaces(kubectl)
    stray = [n for n in names or [] if n not in SYSTEM_NAMESPACES]
    claims = kubectl("get", "pvc", "-A", "-o", "json")
    claim_names = (
        [f"{c['metadata']['namespace']}/{c['metadata']['name']}" for c in json.loads(claims.stdout).get("items") or []]
        if claims.returncode == 0
        else None
    )
    ok = not left and not errors and names is not None and not stray and claim_names == []
    if ok:
        message = f"none of {len(objects)} objects left; namespaces {names}; no claims"
    else:
        message = (
            f"left: {[o.label() for o in left][:20]}; namespaces not the cluster's: {stray}; "
            f"claims: {claim_names if claim_names is not None else 'unreadable'}; could not list: {errors[:5]}"
        )
    return _check("reset-cluster-clean", ok, message)
