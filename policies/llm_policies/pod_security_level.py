"""Workloads meet their namespace's Pod Security level before the API server is asked.

A namespace's ``pod-security.kubernetes.io/enforce`` label makes the API server refuse pods below
that level, but only when the controller creates them: the Deployment is accepted, its pods are
not, and ``pulumi up`` waits on a rollout that never starts (``FailedCreate``). This stack policy
reads the level of every namespace the stack creates and checks each workload in it against the
Pod Security Standards' ``baseline`` and ``restricted`` controls (the fields that Kubernetes
admission checks). Workloads in namespaces without the label, or created elsewhere, are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from llm_policies._util import K8sObject, as_dict, as_list, dig, k8s_objects, pod_template, stack_nodes

ENFORCE = "pod-security.kubernetes.io/enforce"
BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
})
RESTRICTED_VOLUMES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
})


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for key in ("initContainers", "containers", "ephemeralContainers")
            for c in as_list(spec.get(key)) if isinstance(c, dict)]


def baseline_problems(spec: dict[str, Any]) -> Iterator[str]:
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field) is True:
            yield f"{field}: true"
    for volume in as_list(spec.get("volumes")):
        if isinstance(volume, dict) and "hostPath" in volume:
            yield f"hostPath volume '{volume.get('name')}'"
    for sysctl in as_list(dig(spec, "securityContext", "sysctls")):
        if isinstance(sysctl, dict) and sysctl.get("name") not in SAFE_SYSCTLS:
            yield f"sysctl {sysctl.get('name')}"
    contexts = [as_dict(spec.get("securityContext"))] + [as_dict(c.get("securityContext")) for c in _containers(spec)]
    if any(dig(ctx, "seccompProfile", "type") == "Unconfined" for ctx in contexts):
        yield "seccompProfile Unconfined"
    for container in _containers(spec):
        name, ctx = container.get("name"), as_dict(container.get("securityContext"))
        if ctx.get("privileged") is True:
            yield f"container '{name}': privileged"
        added = set(as_list(dig(ctx, "capabilities", "add"))) - BASELINE_CAPABILITIES
        if added:
            yield f"container '{name}': adds capabilities {sorted(added)}"
        if any(isinstance(p, dict) and p.get("hostPort") for p in as_list(container.get("ports"))):
            yield f"container '{name}': hostPort"


def restricted_problems(spec: dict[str, Any]) -> Iterator[str]:
    yield from baseline_problems(spec)
    pod = as_dict(spec.get("securityContext"))
    for volume in as_list(spec.get("volumes")):
        if isinstance(volume, dict):
            kinds = set(volume) - {"name"}
            if kinds - RESTRICTED_VOLUMES:
                yield f"volume '{volume.get('name')}' of type {sorted(kinds)}"
    if pod.get("runAsUser") == 0:
        yield "runAsUser 0"
    for container in _containers(spec):
        name, ctx = container.get("name"), as_dict(container.get("securityContext"))
        if ctx.get("allowPrivilegeEscalation") is not False:
            yield f"container '{name}': allowPrivilegeEscalation must be false"
        if ctx.get("runAsNonRoot", pod.get("runAsNonRoot")) is not True:
            yield f"container '{name}': runAsNonRoot must be true"
        if ctx.get("runAsUser", pod.get("runAsUser")) == 0:
            yield f"container '{name}': runAsUser 0"
        if dig(ctx, "seccompProfile", "type", default=dig(pod, "seccompProfile", "type")) not in (
            "RuntimeDefault", "Localhost"
        ):
            yield f"container '{name}': seccompProfile must be RuntimeDefault or Localhost"
        if "ALL" not in as_list(dig(ctx, "capabilities", "drop")):
            yield f"container '{name}': capabilities must drop ALL"
        if set(as_list(dig(ctx, "capabilities", "add"))) - {"NET_BIND_SERVICE"}:
            yield f"container '{name}': may add only NET_BIND_SERVICE"


CHECKS = {"baseline": baseline_problems, "restricted": restricted_problems}


def namespace_levels(objects: list[K8sObject]) -> dict[str, str]:
    return {
        obj.name: str(obj.labels[ENFORCE]) for obj in objects
        if obj.kind == "Namespace" and isinstance(obj.labels.get(ENFORCE), str)
    }


def validate_pod_security_level(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    nodes = stack_nodes(args)
    found = [(urn, obj) for urn, node in nodes.items() for obj in k8s_objects(node.type, node.props)]
    levels = namespace_levels([obj for _, obj in found])
    for urn, obj in found:
        template = pod_template(obj)
        level = levels.get(obj.namespace) if isinstance(obj.namespace, str) else None
        if template is None or level not in CHECKS:
            continue
        problems = list(CHECKS[level](as_dict(template[1].get("spec"))))
        if problems:
            report_violation(
                f"{obj.describe()} in namespace '{obj.namespace}' (Pod Security '{level}') would be refused: "
                + "; ".join(problems)
                + "; set those securityContext fields, or label the namespace with the level it needs", urn,
            )


POLICY = StackValidationPolicy(
    name="pod-security-level",
    description="Workloads meet the Pod Security level their namespace enforces.",
    validate=validate_pod_security_level,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["security", "pod-security"],
    remediation_steps="Set the workload's security context to the namespace's level, or lower the namespace's "
                      "level (components/pod_security.py) with the reason.",
)
