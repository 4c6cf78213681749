"""vLLM runs only as a Kubernetes workload, never as a container of the Docker provider.

A ``docker`` container on some host is outside the mesh, the GPU scheduling (device plugin, DCGM),
the gateway and the tracing pipeline: nothing else in the platform can see or reach it. Flags
Docker provider containers and swarm services whose image, command or entrypoint names vLLM.
An image given only as an ID (``sha256:...`` from a RemoteImage) cannot be recognised here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, Severity

from llm_policies._util import as_list, dig, is_vllm_image, resource_validator

DOCKER_CONTAINER = "docker:index/container:Container"
DOCKER_SERVICE = "docker:index/service:Service"


def _runs_vllm(image: Any, *commands: Any) -> bool:
    words = [w for c in commands for w in ([c] if isinstance(c, str) else as_list(c)) if isinstance(w, str)]
    return is_vllm_image(image) or any("vllm" in word.lower() for word in words)


def check_vllm_kubernetes_only(resource_type: str, props: dict[str, Any], config: dict[str, Any]) -> Iterator[str]:
    """A Docker provider container or swarm service that runs vLLM."""
    if resource_type == DOCKER_CONTAINER:
        running = _runs_vllm(props.get("image"), props.get("command"), props.get("entrypoints"))
    elif resource_type == DOCKER_SERVICE:
        spec = dig(props, "taskSpec", "containerSpec", default={})
        running = _runs_vllm(dig(spec, "image"), dig(spec, "command"), dig(spec, "args"))
    else:
        return
    if running:
        yield (
            "vLLM must run as a Kubernetes workload, not a Docker provider container: set engine: vllm in the stack "
            "config so the serving component deploys it on the GPU node, behind the gateway and inside the mesh."
        )


POLICY = ResourceValidationPolicy(
    name="vllm-kubernetes-only",
    description="vLLM runs only as a Kubernetes workload: no Docker provider container running a vLLM image.",
    validate=resource_validator(check_vllm_kubernetes_only),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["vllm", "platform"],
    remediation_steps="Remove the docker.Container and set engine: vllm so the platform deploys it on Kubernetes.",
)
