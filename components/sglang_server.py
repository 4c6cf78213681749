"""SglangServer: SGLang as the optional second engine, for the gateway's weighted canary.

Same workload shape as vLLM (``_engine.serve_gpu_engine``): model cache, /dev/shm, GPU limit,
probes, PodDisruptionBudget, Service ``sglang`` and a ServiceMonitor. Each engine takes its own
GPU: on a one-GPU node the canary's pod stays Pending unless the device plugin shares the GPU
(time-slicing), which is the cluster's choice, not this component's.
"""

from __future__ import annotations

import pulumi
from pydantic import BaseModel, ConfigDict

from components import _engine
from components._k8s import TOKEN_PREFIX
from components.contracts import CrdReadiness, EngineEndpoint, GpuRuntime, NamespaceRef, TracingEndpoints
from config.capacity import Placement
from config.sections import Sglang

OWNED_FLAGS = ("--model-path", "--port", "--served-model-name", "--mem-fraction-static", "--otlp-traces-endpoint")
"""Flags ``sglang_args`` sets from dedicated keys: ``sglang.extraArgs`` must not repeat them."""


class SglangServerArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    settings: Sglang
    image: str
    namespace: NamespaceRef
    gpu: GpuRuntime
    tracing: TracingEndpoints
    monitoring_crds: CrdReadiness
    retain_cache: bool
    hf_token: pulumi.Output[str] | None = None
    autoscaled: bool = False
    """A KEDA ScaledObject owns the replica count (``autoscaling.enabled``)."""
    placement: Placement = Placement()
    """Spreading of the engine's replicas over GPU nodes (``placement``)."""


def owned_flag_problems(settings: Sglang) -> list[str]:
    return _engine.owned_flag_problems("sglang", settings.extra_args, OWNED_FLAGS)


def sglang_args(s: Sglang, otlp_authority: str) -> list[str]:
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
        self.endpoint = _engine.serve_gpu_engine(
            self,
            name,
            app="sglang",
            settings=args.settings,
            image=args.image,
            command=["python3", "-m", "sglang.launch_server"],
            args=list(sglang_args(args.settings, args.tracing.otlp_grpc.authority)),
            env=[],
            gpus=1,
            namespace=args.namespace,
            gpu=args.gpu,
            retain_cache=args.retain_cache,
            hf_token=args.hf_token,
            monitoring_crds=args.monitoring_crds,
            autoscaled=args.autoscaled,
            placement=args.placement,
            otlp_auth=args.tracing.auth,
        )
        self.register_outputs({})
