"""VllmServer: the vLLM OpenAI server on the GPU, traced to the collector and scraped by Prometheus.

The engine's settings come from the ``vllm`` config section and become command-line flags
here; flags this component owns (model, port, served name, memory share, OTLP endpoint) cannot
be overridden through ``extraArgs``, so the Service, LiteLLM's model list and the traces always
agree with what runs. The OTLP endpoint is the collector's gRPC ServiceRef, never a retyped name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi
from pydantic import BaseModel, ConfigDict

import config
from components import _engine
from components._engine import EngineEndpoint
from components._k8s import TOKEN_PREFIX
from components.dcgm import Dcgm
from config import Secrets

if TYPE_CHECKING:
    from components.tracing_pipeline import TracingEndpoints
else:  # the module may not be importable at type-check time of every peer
    TracingEndpoints = Any


class VllmServerArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    config: config.StackConfig
    secrets: Secrets
    namespace: pulumi.Output[str] | str
    """IstioMesh's Output (``pulumi.Input`` has a forward ref pydantic cannot resolve)."""
    tracing: TracingEndpoints
    monitoring_crds: pulumi.Resource
    gpu: Dcgm


def vllm_args(cfg: config.StackConfig, otlp_endpoint: str) -> list[str]:
    """The server's command line: every engine setting of the ``vllm`` section, then ``extraArgs``."""
    v = cfg.vllm
    return [
        "--model", v.model,
        "--served-model-name", v.served_model_name,
        "--host", "0.0.0.0",
        "--port", str(_engine.PORT),
        "--max-model-len", str(v.max_model_len),
        "--dtype", v.dtype,
        "--tensor-parallel-size", str(v.tensor_parallel_size),
        "--gpu-memory-utilization", f"{v.gpu_memory_utilization:g}",
        "--enable-prefix-caching" if v.enable_prefix_caching else "--no-enable-prefix-caching",
        "--otlp-traces-endpoint", otlp_endpoint,
        *v.extra_args,
    ]  # fmt: skip


class VllmServer(pulumi.ComponentResource):
    endpoint: EngineEndpoint
    """The ``vllm`` Service as LiteLLM and the gateway reach it."""

    def __init__(self, name: str, args: VllmServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TOKEN_PREFIX}:vllm_server:VllmServer", name, None, opts)
        cfg = args.config
        v = cfg.vllm
        self.endpoint = _engine.endpoint(cfg, "vllm")
        engine = _engine.GpuEngine(
            app="vllm",
            image=cfg.versions.image("vllm"),
            command=["python3", "-m", "vllm.entrypoints.openai.api_server"],
            args=list(vllm_args(cfg, args.tracing.otlp_grpc.url(scheme="grpc"))),
            env=[
                {"name": "VLLM_CACHE_ROOT", "value": f"{_engine.CACHE_DIR}/vllm"},  # torch.compile cache survives
                {"name": "VLLM_NO_USAGE_STATS", "value": "1"},
            ],
            gpus=v.tensor_parallel_size,
            resources=v.resources,
            cache_size=v.cache_size,
            shm_size=v.shm_size,
            startup_timeout_seconds=v.startup_timeout_seconds,
            node_selector={**cfg.gpu.node_selector, **v.node_selector},
            tolerations=v.tolerations,
            otel_bootstrap=v.otel_bootstrap,
            hf_token=args.secrets.get("hfToken"),
        )
        _engine.gpu_workload(
            self,
            name,
            engine,
            namespace=args.namespace,
            runtime_class_name=args.gpu.runtime_class_name,
            device_plugin=args.gpu.device_plugin,
            retain_cache=cfg.storage.retain_on_destroy,
        )
        _engine.engine_service(self, name, self.endpoint.service, args.namespace, "vllm")
        _engine.service_monitor(self, name, self.endpoint.service, args.namespace, "vllm", args.monitoring_crds)
        self.register_outputs({})
