"""Serving engines: which ones a stack runs (vLLM, SGLang or the CPU mock), and how peers reach them."""

from __future__ import annotations

from dataclasses import dataclass

from components._k8s import ServiceRef


@dataclass(frozen=True)
class EngineEndpoint:
    """An OpenAI-compatible engine as LiteLLM and the gateway see it."""

    engine: str
    """``vllm``, ``sglang`` or ``mock``."""
    service: ServiceRef
    served_model_name: str
    model: str
