"""vLLM's ``--gpu-memory-utilization`` must lie strictly between 0 and 1.

It is the fraction of GPU memory vLLM pre-allocates for weights and KV cache. 1.0 (or more) leaves
nothing for the CUDA context, NCCL and DCGM, and the engine dies with OOM under load; 0 or less
never starts. Checked wherever it can be set: the argument (``--gpu-memory-utilization=X`` or
``--gpu-memory-utilization X``, also inside a shell command) or ``VLLM_GPU_MEMORY_UTILIZATION``, in
every container running a vLLM image, and in chart values (``gpuMemoryUtilization`` keys, args).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, Severity

from llm_policies._util import (
    CHART_TYPES,
    WORKLOAD_KINDS,
    as_dict,
    as_list,
    chart_name,
    container_label,
    containers,
    is_vllm_image,
    k8s_objects,
    resource_validator,
    walk,
)

FLAG = "--gpu-memory-utilization"
ENV = "VLLM_GPU_MEMORY_UTILIZATION"
VALUE_KEYS = ("gpuMemoryUtilization", "gpu_memory_utilization", "gpu-memory-utilization")
FIX = "set it to a fraction such as 0.9 (at most 0.95 leaves room for the CUDA context and DCGM)"


def _tokens(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def flag_values(args: list[Any]) -> Iterator[str]:
    """Values given to the flag in an argument list (each item may itself be a shell command line)."""
    tokens = [token for item in args if isinstance(item, str) for token in _tokens(item)]
    for index, token in enumerate(tokens):
        if token.startswith(FLAG + "="):
            yield token.split("=", 1)[1]
        elif token == FLAG:
            yield tokens[index + 1] if index + 1 < len(tokens) else ""


def out_of_range(raw: Any) -> str | None:
    """Why ``raw`` is not a valid utilization (None when it is, or when it is not known yet)."""
    text = str(raw).strip()
    if text.startswith("$("):
        return None  # expanded from another variable at runtime: judged where that one is set
    try:
        value = float(text)
    except ValueError:
        return f"'{text}' is not a number"
    if not 0.0 < value < 1.0:
        return f"{value:g} is outside (0, 1)"
    return None


def container_findings(container: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, why) for every bad setting in one container."""
    for raw in flag_values(as_list(container.get("command")) + as_list(container.get("args"))):
        if (why := out_of_range(raw)) is not None:
            yield FLAG, why
    for env in as_list(container.get("env")):
        env = as_dict(env)
        if env.get("name") == ENV and "value" in env and (why := out_of_range(env["value"])) is not None:
            yield ENV, why


def check_vllm_gpu_memory(resource_type: str, props: dict[str, Any], config: dict[str, Any]) -> Iterator[str]:
    """Every vLLM container of a workload, and vLLM settings in chart values."""
    for obj in k8s_objects(resource_type, props):
        if obj.kind not in WORKLOAD_KINDS:
            continue
        for path, container in containers(obj):
            if not is_vllm_image(container.get("image")):
                continue
            for where, why in container_findings(container):
                yield f"{obj.describe()} {container_label(container, path)}: vLLM {where} {why}; {FIX}."
    if resource_type in CHART_TYPES:
        chart = chart_name(props) or "chart"
        values = props.get("values")
        for path, node in walk(values):
            for key, raw in as_dict(node).items():
                if key in VALUE_KEYS and (bad := out_of_range(raw)) is not None:
                    yield f"Helm values of '{chart}' set {path + '.' if path else ''}{key}: {bad}; {FIX}."
        for path, node in walk(values):
            # An argument list pairs "--flag" with the next item; a lone string is a command line.
            lone_string = isinstance(node, str) and not path.endswith("]")
            args = node if isinstance(node, list) else [node] if lone_string else []
            for raw in flag_values(args):
                if (bad := out_of_range(raw)) is not None:
                    yield f"Helm values of '{chart}' pass vLLM {FLAG} at values.{path}: {bad}; {FIX}."


POLICY = ResourceValidationPolicy(
    name="vllm-gpu-memory-utilization-range",
    description="vLLM --gpu-memory-utilization (argument or VLLM_GPU_MEMORY_UTILIZATION) must be above 0 and below 1.",
    validate=resource_validator(check_vllm_gpu_memory),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["gpu", "vllm"],
    remediation_steps="Set vllm.gpuMemoryUtilization in the stack config to a value in (0, 1), e.g. 0.9.",
)
