"""vLLM's ``--gpu-memory-utilization`` must lie strictly between 0 and 1.

It is the fraction of GPU memory vLLM pre-allocates for weights and KV cache. 1.0 (or more) leaves
nothing for the CUDA context, NCCL and DCGM, and the engine dies with OOM under load; 0 or less
never starts. Judged on what runs, not on how it was written:

* every container that runs vLLM (a vLLM image, or a command line that starts ``vllm serve`` /
  ``python -m vllm.entrypoints...`` whatever the image is called), on its command line after the
  kubelet's ``$(VAR)`` expansion and a ``sh -c`` script's ``${VAR}`` expansion from the container env,
  in either spelling (``--gpu-memory-utilization`` / ``--gpu_memory_utilization``, ``=value`` or
  ``value``); a value that cannot be resolved from the env (``valueFrom``, undefined) fails closed;
  also ``VLLM_GPU_MEMORY_UTILIZATION``;
* vLLM config files (``--config``) held in a ConfigMap: any YAML/JSON document with the key in either spelling;
* chart values: ``gpuMemoryUtilization``-style keys and argument lists.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, Severity

from llm_policies._commands import UNRESOLVED, command_line, flag_values, normalize, runs_vllm
from llm_policies._credentials import leaves
from llm_policies._util import (
    CHART_TYPES,
    WORKLOAD_KINDS,
    as_dict,
    as_list,
    chart_name,
    container_label,
    containers,
    k8s_objects,
    resource_validator,
    walk,
)

FLAG = "--gpu-memory-utilization"
ENV = "VLLM_GPU_MEMORY_UTILIZATION"
VALUE_KEYS = ("gpuMemoryUtilization", "gpu_memory_utilization", "gpu-memory-utilization")
FIX = "set it to a fraction such as 0.9 (at most 0.95 leaves room for the CUDA context and DCGM)"


def out_of_range(raw: Any) -> str | None:
    """Why ``raw`` is not a valid utilization (None when it is)."""
    text = str(raw).strip()
    if text.startswith((UNRESOLVED, "$(", "${", "$")):
        name = text.removeprefix(UNRESOLVED).strip("$(){}>")
        return f"'{name}' cannot be resolved from the container env, so the value cannot be checked (set it literally)"
    try:
        value = float(text)
    except ValueError:
        return f"'{text}' is not a number"
    if not 0.0 < value < 1.0:
        return f"{value:g} is outside (0, 1)"
    return None


def container_findings(container: dict[str, Any], path: str) -> Iterator[tuple[str, str]]:
    """(where, why) for every bad setting in one container."""
    for raw in flag_values(command_line(container), FLAG):
        if (why := out_of_range(raw)) is not None:
            yield f"{path}.args", f"{FLAG} {why}"
    for index, env in enumerate(as_list(container.get("env"))):
        env = as_dict(env)
        if env.get("name") == ENV and "value" in env and (why := out_of_range(env["value"])) is not None:
            yield f"{path}.env[{index}]", f"{ENV} {why}"


def config_file_findings(data: Any, path: str) -> Iterator[tuple[str, str]]:
    for where, key, leaf in leaves(data, path):
        if key in VALUE_KEYS and (why := out_of_range(leaf)) is not None:
            yield where, why


def chart_findings(values: Any) -> Iterator[tuple[str, str]]:
    for path, node in walk(values, "values"):
        for key, raw in as_dict(node).items():
            if key in VALUE_KEYS and (bad := out_of_range(raw)) is not None:
                yield f"{path}.{key}", bad
    for path, node in walk(values, "values"):
        # An argument list pairs "--flag" with the next item; a lone string is a command line.
        lone_string = isinstance(node, str) and not path.endswith("]")
        items = node if isinstance(node, list) else [node] if lone_string else []
        tokens = command_line({"args": [i for i in items if isinstance(i, str | int | float)]})
        for raw in flag_values([normalize(t) for t in tokens], FLAG):
            if (bad := out_of_range(raw)) is not None:
                yield f"{path} {FLAG}", bad


def check_vllm_gpu_memory(resource_type: str, props: dict[str, Any], config: dict[str, Any]) -> Iterator[str]:
    """Every container running vLLM, vLLM config files in ConfigMaps, and vLLM settings in chart values."""
    for obj in k8s_objects(resource_type, props):
        if obj.kind == "ConfigMap":
            for where, why in config_file_findings(obj.body.get("data"), obj.where("data")):
                yield f"{obj.describe()}: vLLM config {where}: {why}; {FIX}."
        if obj.kind not in WORKLOAD_KINDS:
            continue
        for path, container in containers(obj):
            if not runs_vllm(container):
                continue
            for where, why in container_findings(container, path):
                yield f"{obj.describe()} {container_label(container, path)}: vLLM {why} (at {where}); {FIX}."
    if resource_type in CHART_TYPES:
        chart = chart_name(props) or "chart"
        for where, why in chart_findings(props.get("values")):
            yield f"Helm values of '{chart}' set vLLM {where}: {why}; {FIX}."


POLICY = ResourceValidationPolicy(
    name="vllm-gpu-memory-utilization-range",
    description="vLLM --gpu-memory-utilization (argument or VLLM_GPU_MEMORY_UTILIZATION) must be above 0 and below 1.",
    validate=resource_validator(check_vllm_gpu_memory),
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    tags=["gpu", "vllm"],
    remediation_steps="Set vllm.gpuMemoryUtilization in the stack config to a value in (0, 1), e.g. 0.9.",
)
