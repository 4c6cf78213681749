"""vLLM runs only as a Kubernetes workload, never on a host outside the cluster.

A ``docker`` container or a process started on some host is outside the mesh, the GPU scheduling
(device plugin, DCGM), the gateway and the tracing pipeline: nothing else in the platform can see or
reach it. Flags:

* Docker provider containers and swarm services whose image, command or entrypoint names vLLM;
* ``pulumi_command`` ``local.Command``/``remote.Command`` whose ``create`` or ``update`` script starts
  vLLM: ``vllm serve``, ``python -m vllm.entrypoints...``, or ``docker``/``podman``/``nerdctl run`` of a
  vLLM image. Installing, pulling or querying vLLM is not starting it.

An image given only as an ID (``sha256:...`` from a RemoteImage) cannot be recognised here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, Severity

from llm_policies._commands import starts_vllm
from llm_policies._util import as_list, dig, is_vllm_image, resource_validator

DOCKER_CONTAINER = "docker:index/container:Container"
DOCKER_SERVICE = "docker:index/service:Service"
COMMAND_TYPES = ("command:local:Command", "command:remote:Command")
COMMAND_FIELDS = ("create", "update")
CONTAINER_RUN = re.compile(r"\b(?:docker|podman|nerdctl)\s+(?:container\s+)?run\b[^\n;&|]*vllm", re.IGNORECASE)
FIX = (
    "set engine: vllm in the stack config so the serving component deploys it on the GPU node, behind the "
    "gateway and inside the mesh"
)


def _runs_vllm(image: Any, *commands: Any) -> bool:
    words = [w for c in commands for w in ([c] if isinstance(c, str) else as_list(c)) if isinstance(w, str)]
    return is_vllm_image(image) or any("vllm" in word.lower() for word in words)


def script_starts_vllm(script: str) -> bool:
    """A shell script that starts vLLM on the host (one command per line or ``;``/``&&``-separated)."""
    if CONTAINER_RUN.search(script):
        return True
    return any(starts_vllm(line.replace("(", " ").split()) for line in re.split(r"[\n;&|]+", script))


def check_vllm_kubernetes_only(resource_type: str, props: dict[str, Any], config: dict[str, Any]) -> Iterator[str]:
    """A Docker provider container or swarm service running vLLM, or a host command starting it."""
    if resource_type in COMMAND_TYPES:
        for field in COMMAND_FIELDS:
            script = props.get(field)
            if isinstance(script, str) and script_starts_vllm(script):
                where = resource_type.split(":")[1]
                yield f"{field} starts vLLM on a host outside Kubernetes ({where} Command): {FIX}."
        return
    if resource_type == DOCKER_CONTAINER:
        running = _runs_vllm(props.get("image"), props.get("command"), props.get("entrypoints"))
    elif resource_type == DOCKER_SERVICE:
        spec = dig(props, "taskSpec", "containerSpec", default={})
        running = _runs_vllm(dig(spec, "image"), dig(spec, "command"), dig(spec, "args"))
    else:
        return
    if running:
        yield f"vLLM must run as a Kubernetes workload, not a Docker provider container: {FIX}."


POLICY = ResourceValidationPolicy(
    name="vllm-kubernetes-only",
    description="vLLM runs only as a Kubernetes workload: no Docker container or host command starting vLLM.",
    validate=resource_validator(check_vllm_kubernetes_only),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["vllm", "platform"],
    remediation_steps=(
        "Remove the docker.Container or command and set engine: vllm so the platform deploys it on Kubernetes."
    ),
)
