"""Serving engines: one component per engine a stack runs (vLLM, SGLang or the CPU mock), primary first."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from components._engine import endpoint
from components.contracts import EngineEndpoint
from components.mock_engine import MockEngine, MockEngineArgs
from components.sglang_server import SglangServer, SglangServerArgs
from components.vllm_server import VllmServer, VllmServerArgs

__all__ = ["EngineEndpoint", "deploy", "endpoint"]


def deploy(
    engines: Sequence[str],
    *,
    vllm: VllmServerArgs | None = None,
    sglang: SglangServerArgs | None = None,
    mock: MockEngineArgs | None = None,
    opts: pulumi.ResourceOptions,
) -> list[EngineEndpoint]:
    """The engines in ``engines`` order, each from its Args; their endpoints in the same order."""
    endpoints: list[EngineEndpoint] = []
    for engine in engines:
        if engine == "mock" and mock is not None:
            endpoints.append(MockEngine("mock-engine", mock, opts).endpoint)
        elif engine == "vllm" and vllm is not None:
            endpoints.append(VllmServer("vllm", vllm, opts).endpoint)
        elif engine == "sglang" and sglang is not None:
            endpoints.append(SglangServer("sglang", sglang, opts).endpoint)
        else:
            raise ValueError(f"engine {engine!r} is deployed but its Args are missing")
    return endpoints
