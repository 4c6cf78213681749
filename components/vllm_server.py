"""VllmServer: the vLLM OpenAI server on the GPU, traced to the collector and scraped by Prometheus.

The engine's settings come from the ``vllm`` config section and become command-line flags
here; flags this component owns (``OWNED_FLAGS``: model, port, served name, memory share, OTLP
endpoint) cannot be overridden through ``extraArgs``, so the Service, LiteLLM's model list and the
traces always agree with what runs. The OTLP endpoint is the collector's gRPC ServiceRef, never a
retyped name.
"""

from __future__ import annotations

import pulumi
from pydantic import BaseModel, ConfigDict

from components import _engine
from components._k8s import TOKEN_PREFIX
from components.contracts import CrdReadiness, EngineEndpoint, GpuRuntime, NamespaceRef, TracingEndpoints
from config.capacity import Placement
from config.sections import Vllm

OWNED_FLAGS = ("--gpu-memory-utilization", "--model", "--port", "--served-model-name", "--otlp-traces-endpoint")
"""Flags ``vllm_args`` sets from dedicated keys: ``vllm.extraArgs`` must not repeat them."""


class VllmServerArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    settings: Vllm
    image: str
    namespace: NamespaceRef
    gpu: GpuRuntime
    tracing: TracingEndpoints
    monitoring_crds: CrdReadiness
    retain_cache: bool
    """The model cache claim outlives `pulumi destroy` (``storage.retainOnDestroy``)."""
    hf_token: pulumi.Output[str] | None = None
    """The ``hfToken`` secret, for gated models."""
    autoscaled: bool = False
    """A KEDA ScaledObject owns the replica count (``autoscaling.enabled``)."""
    placement: Placement = Placement()
    """Spreading of the engine's replicas over GPU nodes (``placement``)."""


def owned_flag_problems(settings: Vllm) -> list[str]:
    return _engine.owned_flag_problems("vllm", settings.extra_args, OWNED_FLAGS)


def vllm_args(v: Vllm, otlp_endpoint: str) -> list[str]:
    """The server's command line: every engine setting of the ``vllm`` section, then ``extraArgs``."""
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
        v = args.settings
        self.endpoint = _engine.serve_gpu_engine(
            self,
            name,
            app="vllm",
            settings=v,
            image=args.image,
            command=["python3", "-m", "vllm.entrypoints.openai.api_server"],
            args=list(vllm_args(v, args.tracing.otlp_grpc.url(scheme="grpc"))),
            env=[
                {"name": "VLLM_CACHE_ROOT", "value": f"{_engine.CACHE_DIR}/vllm"},  # torch.compile cache survives
                {"name": "VLLM_NO_USAGE_STATS", "value": "1"},
            ],
            gpus=v.tensor_parallel_size,
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
