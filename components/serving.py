"""Serving engines: which ones a stack runs (vLLM, SGLang or the CPU mock), and how peers reach them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi

import config
from components._k8s import ServiceRef

if TYPE_CHECKING:
    from components.dcgm import Dcgm
    from components.tracing_pipeline import TracingEndpoints


@dataclass(frozen=True)
class EngineEndpoint:
    """An OpenAI-compatible engine as LiteLLM and the gateway see it."""

    engine: str
    """``vllm``, ``sglang`` or ``mock``."""
    service: ServiceRef
    served_model_name: str
    model: str


def endpoint(cfg: config.StackConfig, engine: config.Engine) -> EngineEndpoint:
    """Where ``engine`` will answer, known before it exists."""
    ns = cfg.namespaces.llm
    if engine == "vllm":
        return EngineEndpoint("vllm", ServiceRef("vllm", ns, 8000, "http"), cfg.vllm.served_model_name, cfg.vllm.model)
    if engine == "sglang":
        return EngineEndpoint(
            "sglang", ServiceRef("sglang", ns, 8000, "http"), cfg.sglang.served_model_name, cfg.sglang.model
        )
    name = cfg.mock_engine.served_model_name
    return EngineEndpoint("mock", ServiceRef("mock-llm", ns, 8000, "http"), name, name)


def deploy(
    cfg: config.StackConfig,
    secrets: config.Secrets,
    *,
    namespace: pulumi.Input[str],
    tracing: TracingEndpoints,
    monitoring_crds: pulumi.Resource,
    gpu: Dcgm | None,
    opts: pulumi.ResourceOptions,
) -> list[EngineEndpoint]:
    """One component per engine of the stack, primary first. Minimal interface; being built out."""
    return [endpoint(cfg, engine) for engine in cfg.engines()]
