"""SglangServer: SGLang as the optional second engine, for the gateway's weighted canary.

Same workload shape as vLLM (``_engine.gpu_workload``): model cache, /dev/shm, GPU limit,
probes, PodDisruptionBudget, Service ``sglang`` and a ServiceMonitor. Each engine takes its own
GPU: on a one-GPU node the canary's pod stays Pending unless the device plugin shares the GPU
(time-slicing), which is the cluster's choice, not this component's.
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
else:
    TracingEndpoints = Any


class SglangServerArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    config: config.StackConfig
    secrets: Secrets
    namespace: pulumi.Output[str] | str
    """IstioMesh's Output (``pulumi.Input`` has a forward ref pydantic cannot resolve)."""
    tracing: TracingEndpoints
    monitoring_crds: pulumi.Resource
    gpu: Dcgm


def sglang_args(cfg: config.StackConfig, otlp_authority: str) -> list[str]:
    s = cfg.sglang
    return [
        "--model-path", s.model,
        "--served-model-name", s.served_model_name,
        "--host", "0.0.0.0",
        "--port", str(_engine.PORT),
        "--mem-fraction-static", f"{s.mem_fraction_static:g}",
        "--enable-metrics",
        "--enable-trace",
        "--otlp-traces-endpoint", otlp_authority,  # host:port, gRPC
        *s.extra_args,
    ]  # fmt: skip


class SglangServer(pulumi.ComponentResource):
    endpoint: EngineEndpoint
    """The ``sglang`` Service as LiteLLM and the gateway reach it."""

    def __init__(self, name: str, args: SglangServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TOKEN_PREFIX}:sglang_server:SglangServer", name, None, opts)
        cfg = args.config
        s = cfg.sglang
        self.endpoint = _engine.endpoint(cfg, "sglang")
        engine = _engine.GpuEngine(
            app="sglang",
            image=cfg.versions.image("sglang"),
            command=["python3", "-m", "sglang.launch_server"],
            args=list(sglang_args(cfg, args.tracing.otlp_grpc.authority)),
            env=[],
            gpus=1,
            resources=s.resources,
            cache_size=s.cache_size,
            shm_size=s.shm_size,
            startup_timeout_seconds=s.startup_timeout_seconds,
            node_selector={**cfg.gpu.node_selector, **s.node_selector},
            tolerations=s.tolerations,
            otel_bootstrap=s.otel_bootstrap,
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
        _engine.engine_service(self, name, self.endpoint.service, args.namespace, "sglang")
        _engine.service_monitor(self, name, self.endpoint.service, args.namespace, "sglang", args.monitoring_crds)
        self.register_outputs({})
