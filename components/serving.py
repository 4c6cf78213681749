"""Serving engines: which ones a stack runs (vLLM, SGLang or the CPU mock), and how peers reach them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi

import config
from components._engine import EngineEndpoint, endpoint
from components.dcgm import Dcgm
from components.mock_engine import MockEngine, MockEngineArgs
from components.sglang_server import SglangServer, SglangServerArgs
from components.vllm_server import VllmServer, VllmServerArgs

if TYPE_CHECKING:
    from components.tracing_pipeline import TracingEndpoints
else:
    TracingEndpoints = Any

__all__ = ["EngineEndpoint", "deploy", "endpoint"]


def deploy(
    cfg: config.StackConfig,
    secrets: config.Secrets,
    *,
    namespace: pulumi.Output[str] | str,
    tracing: TracingEndpoints,
    monitoring_crds: pulumi.Resource,
    gpu: Dcgm | None,
    opts: pulumi.ResourceOptions,
) -> list[EngineEndpoint]:
    """One component per engine of the stack (``cfg.engines()``, primary first); their endpoints."""
    endpoints: list[EngineEndpoint] = []
    for engine in cfg.engines():
        if engine == "mock":
            mock = MockEngine(
                "mock-engine",
                MockEngineArgs(config=cfg, namespace=namespace, tracing=tracing, monitoring_crds=monitoring_crds),
                opts,
            )
            endpoints.append(mock.endpoint)
            continue
        if gpu is None:  # config validation makes GPU engines require gpu.enabled
            raise ValueError(f"engine {engine!r} needs the Dcgm component (gpu.enabled=true)")
        if engine == "vllm":
            server: VllmServer | SglangServer = VllmServer(
                "vllm",
                VllmServerArgs(
                    config=cfg, secrets=secrets, namespace=namespace, tracing=tracing,
                    monitoring_crds=monitoring_crds, gpu=gpu,
                ),
                opts,
            )  # fmt: skip
        else:
            server = SglangServer(
                "sglang",
                SglangServerArgs(
                    config=cfg, secrets=secrets, namespace=namespace, tracing=tracing,
                    monitoring_crds=monitoring_crds, gpu=gpu,
                ),
                opts,
            )  # fmt: skip
        endpoints.append(server.endpoint)
    return endpoints
