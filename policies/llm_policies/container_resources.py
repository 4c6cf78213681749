"""Advisory: every container declares CPU and memory requests and limits.

Requests let the scheduler place pods (and the GPU node keep room for vLLM); limits keep one
runaway exporter from starving the node. Checks containers and init containers of workloads.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, Severity

from llm_policies._util import WORKLOAD_KINDS, as_dict, container_label, containers, k8s_objects, resource_validator

REQUIRED = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory")


def missing_resources(container: dict[str, Any]) -> list[str]:
    resources = as_dict(container.get("resources"))
    return [
        key for key in REQUIRED
        if as_dict(resources.get(key.split(".")[0])).get(key.split(".")[1]) in (None, "")
    ]


def check_container_resources(resource_type: str, props: dict[str, Any], config: dict[str, Any]) -> Iterator[str]:
    """Containers missing any of CPU/memory requests/limits."""
    for obj in k8s_objects(resource_type, props):
        if obj.kind not in WORKLOAD_KINDS:
            continue
        for path, container in containers(obj):
            missing = missing_resources(container)
            if missing:
                fields = ", ".join(f"resources.{key}" for key in missing)
                yield (
                    f"{obj.describe()} {container_label(container, path)} has no {fields}: "
                    "set CPU/memory requests and limits (the config's resources sections feed them)."
                )


POLICY = ResourceValidationPolicy(
    name="k8s-container-resources-set",
    description="Every container sets CPU and memory requests and limits.",
    validate=resource_validator(check_container_resources),
    enforcement_level=EnforcementLevel.ADVISORY,
    severity=Severity.MEDIUM,
    tags=["reliability", "hygiene"],
    remediation_steps="Add resources.requests and resources.limits for cpu and memory to every container.",
)
