"""What every serving engine shares: its endpoint, Service, ServiceMonitor, and the GPU workload shape.

vLLM and SGLang differ only in their command line; the rest (model cache volume, /dev/shm,
GPU limit and placement, probes with a startup budget, PodDisruptionBudget, tracing bootstrap)
is one function here, so the two engines cannot drift apart.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import _k8s
from components._k8s import labels
from components.contracts import CrdReadiness, EngineEndpoint, GpuRuntime, NamespaceRef, OtlpAuth, ServiceRef
from config.capacity import Placement
from config.sections import GpuEngineSettings
from config.types import PROJECT, Resources, Toleration

PORT = 8000
"""Every engine serves its OpenAI API (and /metrics, /health) on this port."""

SERVICE_NAMES: dict[str, str] = {"vllm": "vllm", "sglang": "sglang", "mock": "mock-llm"}

OTEL_PACKAGES = (
    # renovate: datasource=pypi depName=opentelemetry-sdk (the api, sdk and exporters move together)
    "opentelemetry-api==1.37.0",
    "opentelemetry-sdk==1.37.0",
    "opentelemetry-proto==1.37.0",
    "opentelemetry-exporter-otlp==1.37.0",
    "opentelemetry-exporter-otlp-proto-common==1.37.0",
    "opentelemetry-exporter-otlp-proto-grpc==1.37.0",
    "opentelemetry-exporter-otlp-proto-http==1.37.0",
    "opentelemetry-semantic-conventions==0.58b0",
    "opentelemetry-semantic-conventions-ai==0.4.13",
    "googleapis-common-protos==1.70.0",
)
"""What vLLM's and SGLang's tracing import but their images lack. Installed ``--no-deps`` so the
image's own protobuf, grpcio and friends stay the ones the engine was built with."""

CACHE_DIR = "/models"
"""Model cache volume: ``HF_HOME`` and the engine's compile caches, kept across restarts."""
OTEL_DIR = "/opt/otel"
ISTIO_PROXY_UID = 1337
"""Istio never redirects this UID's traffic: an init container runs before the sidecar is up."""


def endpoint(engine: str, namespace: str, served_model_name: str, model: str) -> EngineEndpoint:
    """Where ``engine`` answers, known before it exists (the Service name and pod labels are fixed here)."""
    app = SERVICE_NAMES[engine]
    service = ServiceRef(app, namespace, PORT, "http")
    return EngineEndpoint(engine, service, served_model_name, model, pods=tuple(sorted(selector(app).items())))


def owned_flag_problems(section: str, extra_args: list[str], owned: tuple[str, ...]) -> list[str]:
    """Engine flags the program sets itself must not come in again through ``extraArgs``."""
    clash = [arg for arg in extra_args if arg.split("=")[0] in owned]
    if not clash:
        return []
    return [
        f"{PROJECT}:{section}.extraArgs: must not set {clash}: use the dedicated keys of the {section} section "
        f"(given {json.dumps(extra_args)})"
    ]


def metadata(name: str, namespace: pulumi.Input[str], app: str, component: str = "engine") -> Any:
    return {"name": name, "namespace": namespace, "labels": labels(app, component)}


def selector(app: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/component": "engine"}


def engine_service(
    parent: pulumi.Resource, name: str, ref: ServiceRef, namespace: pulumi.Input[str], app: str
) -> k8s.core.v1.Service:
    return k8s.core.v1.Service(  # type: ignore[call-overload]  # pulumi-kubernetes overloads vs manifest-style dicts
        f"{name}-service",
        metadata=metadata(ref.name, namespace, app),
        spec={
            "selector": selector(app),
            "ports": [{"name": "http", "port": ref.port, "targetPort": "http", "appProtocol": ref.app_protocol}],
        },
        opts=pulumi.ResourceOptions(parent=parent),
    )


def service_monitor(
    parent: pulumi.Resource, name: str, ref: ServiceRef, namespace: pulumi.Input[str], app: str, crds: CrdReadiness
) -> k8s.apiextensions.CustomResource:
    """Scrape ``/metrics`` of the engine's Service; the job label is the Service name."""
    return _k8s.service_monitor(
        f"{name}-service-monitor",
        metadata=metadata(ref.name, namespace, app),
        selector=selector(app),
        endpoint={"port": "http", "path": "/metrics", "interval": "15s", "scrapeTimeout": "10s"},
        crds=crds,
        parent=parent,
    )


def http_probe(path: str, period: int, failures: int, timeout: int = 5) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failures,
    }


@dataclass(frozen=True)
class GpuEngine:
    """One GPU-served model: what differs between vLLM and SGLang."""

    app: str
    image: str
    command: list[str]
    args: list[pulumi.Input[str]]
    env: list[dict[str, Any]]
    gpus: int
    resources: Resources
    cache_size: str
    shm_size: str
    startup_timeout_seconds: int
    node_selector: dict[str, str]
    tolerations: list[Toleration]
    otel_bootstrap: bool
    hf_token: pulumi.Output[str] | None
    autoscaled: bool = False
    """KEDA owns the replica count: the Deployment leaves it unset and each pod gets its own cache volume."""
    placement: Placement = field(default_factory=Placement)


def gpu_workload(
    parent: pulumi.Resource,
    name: str,
    spec: GpuEngine,
    *,
    namespace: pulumi.Input[str],
    runtime_class_name: str,
    device_plugin: pulumi.Resource,
    retain_cache: bool,
) -> k8s.apps.v1.Deployment:
    """Model cache claim, optional HF token Secret, the Deployment and its PodDisruptionBudget."""
    app = spec.app
    claim_spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": spec.cache_size}}}
    if spec.autoscaled:
        # Replicas on several nodes cannot share one ReadWriteOnce claim: each pod gets its own, made and
        # deleted with the pod (a new replica downloads the model again).
        cache_volume: dict[str, Any] = {
            "name": "model-cache",
            "ephemeral": {"volumeClaimTemplate": {"spec": claim_spec}},
        }
    else:
        cache = k8s.core.v1.PersistentVolumeClaim(  # type: ignore[call-overload]  # pulumi-kubernetes overloads vs manifest-style dicts
            f"{name}-model-cache",
            metadata=metadata(f"{app}-model-cache", namespace, app, "model-cache"),
            spec=claim_spec,
            # Re-downloading a model takes minutes to hours: the cache outlives `pulumi destroy` by default.
            opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=retain_cache),
        )
        cache_volume = {"name": "model-cache", "persistentVolumeClaim": {"claimName": cache.metadata["name"]}}
    env = [
        {"name": "HF_HOME", "value": f"{CACHE_DIR}/huggingface"},
        {"name": "HOME", "value": "/tmp/home"},
        {"name": "USER", "value": app},  # no passwd entry for the UID: libraries asking getpass need this
        {"name": "NUMBA_CACHE_DIR", "value": "/tmp/numba"},  # default is next to the (read-only) sources
        {"name": "OTEL_SERVICE_NAME", "value": app},
        {"name": "OTEL_EXPORTER_OTLP_TRACES_INSECURE", "value": "true"},  # plain gRPC in-cluster; the mesh encrypts
        {"name": "DO_NOT_TRACK", "value": "1"},
        *spec.env,
    ]
    if spec.hf_token is not None:
        token = k8s.core.v1.Secret(  # type: ignore[call-overload]  # pulumi-kubernetes overloads vs manifest-style dicts
            f"{name}-hf-token",
            metadata=metadata(f"{app}-hf-token", namespace, app),
            type="Opaque",
            string_data={"token": spec.hf_token},
            opts=pulumi.ResourceOptions(parent=parent),
        )
        env.append(
            {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": token.metadata["name"], "key": "token"}}}
        )
    volumes: list[dict[str, Any]] = [
        cache_volume,
        {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": spec.shm_size}},
        {"name": "tmp", "emptyDir": {}},
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "model-cache", "mountPath": CACHE_DIR},
        {"name": "dshm", "mountPath": "/dev/shm"},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    init_containers = []
    if spec.otel_bootstrap:
        volumes.append({"name": "otel", "emptyDir": {}})
        mounts.append({"name": "otel", "mountPath": OTEL_DIR, "readOnly": True})  # type: ignore[dict-item]  # pulumi-kubernetes overloads vs manifest-style dicts
        env.append({"name": "PYTHONPATH", "value": OTEL_DIR})
        init_containers.append(otel_bootstrap_container(spec.image))
    resources: dict[str, Any] = spec.resources.as_k8s()
    resources["limits"]["nvidia.com/gpu"] = str(spec.gpus)
    startup_budget = spec.startup_timeout_seconds
    container = {
        "name": app,
        "image": spec.image,
        "command": spec.command,
        "args": spec.args,
        "env": env,
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "resources": resources,
        "volumeMounts": mounts,
        # Download and load may take the whole budget; liveness starts only once this passes.
        "startupProbe": http_probe("/health", 10, math.ceil(startup_budget / 10)),
        "readinessProbe": http_probe("/health", 10, 3),
        "livenessProbe": http_probe("/health", 20, 3, timeout=10),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    pod_labels = labels(app, "engine")
    deployment = k8s.apps.v1.Deployment(  # type: ignore[call-overload]  # pulumi-kubernetes overloads vs manifest-style dicts
        f"{name}-deployment",
        metadata={
            **metadata(app, namespace, app),
            # Pulumi waits for the rollout; the first one includes the model download.
            "annotations": {"pulumi.com/timeoutSeconds": str(startup_budget + 600)},
        },
        spec={
            # Under KEDA the HPA owns the count; Pulumi setting it would undo every scale on the next `up`.
            **({} if spec.autoscaled else {"replicas": 1}),
            # One GPU per pod: an old pod releases its GPU (and the cache claim) before its successor starts.
            "strategy": (
                {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
                if spec.autoscaled
                else {"type": "Recreate"}
            ),
            "progressDeadlineSeconds": startup_budget + 300,
            "selector": {"matchLabels": selector(app)},
            "template": {
                "metadata": {
                    "labels": pod_labels,
                    # The model download goes through the sidecar: start it first.
                    "annotations": {"proxy.istio.io/config": '{"holdApplicationUntilProxyStarts": true}'},
                },
                "spec": {
                    "runtimeClassName": runtime_class_name,
                    # A Service named vllm injects VLLM_PORT=tcp://..., which vLLM reads as its own setting.
                    "enableServiceLinks": False,
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": 60,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 1000,
                        "runAsGroup": 1000,
                        "fsGroup": 1000,
                        "fsGroupChangePolicy": "OnRootMismatch",  # the cache holds many files: no chown per start
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    **({"nodeSelector": spec.node_selector} if spec.node_selector else {}),
                    "tolerations": [t.model_dump(by_alias=True, exclude_none=True) for t in spec.tolerations],
                    **_k8s.pod_spread(spec.placement, selector(app)),
                    "initContainers": init_containers,
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
        # nvidia.com/gpu is allocatable only once the device plugin runs on the node.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[device_plugin]),
    )
    k8s.policy.v1.PodDisruptionBudget(  # type: ignore[call-overload]  # pulumi-kubernetes overloads vs manifest-style dicts
        f"{name}-pdb",
        metadata=metadata(app, namespace, app),
        spec={
            # One replica whose restart reloads the model: a drain must be a deliberate act
            # (delete the pod), never a side effect. A pod that is not ready never blocks one.
            "minAvailable": 1,
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
            "selector": {"matchLabels": selector(app)},
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[deployment]),
    )
    return deployment


def otel_bootstrap_container(image: str) -> dict[str, Any]:
    """Installs ``OTEL_PACKAGES`` into the shared volume the engine puts on its PYTHONPATH."""
    return {
        "name": "otel-packages",
        "image": image,
        "command": ["python3", "-m", "pip", "install", "--no-deps", "--no-cache-dir", "--disable-pip-version-check"],
        "args": ["--target", OTEL_DIR, *OTEL_PACKAGES],
        "env": [{"name": "HOME", "value": "/tmp"}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        "volumeMounts": [{"name": "otel", "mountPath": OTEL_DIR}, {"name": "tmp", "mountPath": "/tmp"}],
        "securityContext": {
            "runAsUser": ISTIO_PROXY_UID,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }


def _with_pool(own: list[Toleration], gpu: GpuRuntime) -> list[Toleration]:
    """The engine's tolerations plus the dedicated GPU pool's taint."""
    pool = [Toleration.model_validate(t) for t in gpu.tolerations]
    return [*own, *(t for t in pool if t not in own)]


def serve_gpu_engine(
    parent: pulumi.Resource,
    name: str,
    *,
    app: str,
    settings: GpuEngineSettings,
    image: str,
    command: list[str],
    args: list[pulumi.Input[str]],
    env: list[dict[str, Any]],
    gpus: int,
    namespace: NamespaceRef,
    gpu: GpuRuntime,
    retain_cache: bool,
    hf_token: pulumi.Output[str] | None,
    monitoring_crds: CrdReadiness,
    autoscaled: bool = False,
    placement: Placement | None = None,
    otlp_auth: OtlpAuth | None = None,
) -> EngineEndpoint:
    """One GPU-served model (vLLM or SGLang): workload, Service and ServiceMonitor; its endpoint.

    With OTLP auth its OTel SDK exporter reads the token from ``OTEL_EXPORTER_OTLP_HEADERS``.
    """
    served = endpoint(app, namespace.name, settings.served_model_name, settings.model)
    token_env = _k8s.otlp_headers_env(name, auth=otlp_auth, namespace=namespace.output, app=app, parent=parent)
    spec = GpuEngine(
        app=app,
        image=image,
        command=command,
        args=args,
        env=[*env, *token_env],
        gpus=gpus,
        resources=settings.resources,
        cache_size=settings.cache_size,
        shm_size=settings.shm_size,
        startup_timeout_seconds=settings.startup_timeout_seconds,
        node_selector={**gpu.node_selector, **settings.node_selector},
        tolerations=_with_pool(settings.tolerations, gpu),
        otel_bootstrap=settings.otel_bootstrap,
        hf_token=hf_token,
        autoscaled=autoscaled,
        placement=placement or Placement(),
    )
    gpu_workload(
        parent,
        name,
        spec,
        namespace=namespace.output,
        runtime_class_name=gpu.runtime_class_name,
        device_plugin=gpu.device_plugin,
        retain_cache=retain_cache,
    )
    engine_service(parent, name, served.service, namespace.output, app)
    service_monitor(parent, name, served.service, namespace.output, app, monitoring_crds)
    return served
