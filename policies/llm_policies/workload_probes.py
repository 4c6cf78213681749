"""Advisory: long-running workloads (Deployment, StatefulSet, DaemonSet) declare probes.

Without a readiness probe a pod takes traffic before it can serve (vLLM loads weights for minutes);
without a liveness probe a wedged process is never restarted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, Severity

from llm_policies._util import LONG_RUNNING_KINDS, container_label, containers, k8s_objects, resource_validator

PROBES = ("readinessProbe", "livenessProbe")


def check_workload_probes(resource_type: str, props: dict[str, Any], config: dict[str, Any]) -> Iterator[str]:
    """Containers of long-running workloads without readiness or liveness probes."""
    for obj in k8s_objects(resource_type, props):
        if obj.kind not in LONG_RUNNING_KINDS:
            continue
        for path, container in containers(obj, init=False):
            missing = [probe for probe in PROBES if not container.get(probe)]
            if missing:
                yield (
                    f"{obj.describe()} {container_label(container, path)} has no {' or '.join(missing)}: add them "
                    "(a startupProbe too when it loads for long, like vLLM)."
                )


POLICY = ResourceValidationPolicy(
    name="k8s-workload-probes-set",
    description="Containers of Deployments, StatefulSets and DaemonSets declare readiness and liveness probes.",
    validate=resource_validator(check_workload_probes),
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    tags=["reliability", "hygiene"],
    remediation_steps="Add readinessProbe and livenessProbe (and a startupProbe for slow starters).",
)
