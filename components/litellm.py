"""LiteLLM proxy: one OpenAI-compatible endpoint in front of every serving engine.

Deployed from the project's own manifests (there is no released LiteLLM chart in the mirror),
which also keeps its configuration and secrets under the program's control:

- the proxy ``config.yaml`` (a ConfigMap) lists one model per engine, built from the engines'
  own outputs (served model name and Service), so renaming a model or moving an engine moves
  LiteLLM with it;
- the master key comes from the ``litellmMasterKey`` secret config or is generated (``sk-``
  prefixed), lives in a Secret, reaches the pod through ``secretKeyRef`` and is exported secret;
- every request is traced to the OpenTelemetry collector (LiteLLM's ``otel`` callback, OTLP/gRPC,
  with the collector's bearer token from a Secret when ``tracing.otlpAuth`` is on) and, when
  Langfuse is on, also logged to Langfuse (``langfuse`` callback, project keys from a Secret in
  this namespace);
- ``/metrics`` (the ``prometheus`` callback, open source since LiteLLM 1.80; Enterprise-only
  before) is scraped by a ServiceMonitor that authenticates with the master key, because
  LiteLLM 1.85+ protects ``/metrics`` by default.

Pod Security ``restricted``, read-only root filesystem. The stock image's user is root, so the
pod names a numeric one (``USER``). Traced on the PyPI release of the pinned version (start, a
completion, ``/metrics``), the proxy writes only to lay out its admin UI (``foo.html`` ->
``foo/index.html``): in the package directory, or with ``LITELLM_NON_ROOT=true`` (what upstream's
non-root image sets) in ``/var/lib/litellm/ui``, copied from the package. That directory and
``/tmp`` (also ``HOME``) are emptyDirs. No database is configured, so Prisma (the other writer:
its client and migrations) never runs. ``tests/pipeline`` runs the real proxy with this
environment on a read-only root.
"""

from __future__ import annotations

import hashlib
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s
import yaml
from pydantic import BaseModel, ConfigDict

from components import _k8s
from components._k8s import TOKEN_PREFIX, labels
from components._secrets import generated_secret
from components.autoscaling import resource_hpa
from components.contracts import (
    OTLP_AUTH_HEADER,
    CrdReadiness,
    EngineEndpoint,
    LangfuseConnection,
    NamespaceRef,
    ServiceRef,
    TracingEndpoints,
)
from components.litellm_canary import weighted
from config.capacity import Placement, ResourceScaling
from config.sections import Canary, GeneratedSecrets, Litellm

NAME = "litellm"
PORT = 4000
CONFIG_PATH = "/etc/litellm/config.yaml"
USER = 65532
"""Any non-root UID: the image's files are world-readable, and it writes only to the emptyDirs below."""
WRITABLE = {"tmp": ("/tmp", "256Mi"), "ui": ("/var/lib/litellm", "64Mi")}
"""emptyDir name -> mount path, size: temporary files and ``HOME``; the admin UI (9.2 MB at 1.80.12)."""
RUNTIME_ENV = {"HOME": WRITABLE["tmp"][0], "LITELLM_NON_ROOT": "true"}
"""Caches under ``HOME`` land on the emptyDir; the UI is laid out under ``/var/lib/litellm``, not the package."""
MASTER_KEY_SECRET = f"{NAME}-master-key"
LANGFUSE_SECRET = f"{NAME}-langfuse"
ENGINE_API_KEY = "EMPTY"
"""The engines run without authentication; the OpenAI client still wants a non-empty key."""


class LiteLlmArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    settings: Litellm
    namespace: NamespaceRef
    image: str
    generated_secrets: GeneratedSecrets
    """How the master key is generated when ``master_key`` is unset."""
    master_key: pulumi.Output[str] | None = None
    """The ``litellmMasterKey`` secret; generated when None."""
    engines: list[EngineEndpoint]
    canary: Canary | None = None
    """``gateway.canary``: the same split as the ``llm`` route, as LiteLLM weights."""
    tracing: TracingEndpoints
    langfuse: LangfuseConnection | None = None
    monitoring_crds: CrdReadiness
    placement: Placement = Placement()
    """Spreading of the replicas over nodes (``placement``)."""
    autoscaling: ResourceScaling | None = None
    """An HPA on CPU/memory owns the replica count (``autoscaling.enabled``); None: ``litellm.replicas``."""


def otel_headers(authorization: str) -> str:
    """LiteLLM's ``OTEL_HEADERS`` for the collector's token.

    LiteLLM splits it on ``,`` and the first ``=`` and passes the pairs to the exporter as they are
    (``OpenTelemetry._get_headers_dictionary``): no URL-decoding, so the space stays a space, and the
    key is lower-case because gRPC refuses upper-case metadata keys.
    """
    return f"{OTLP_AUTH_HEADER}={authorization}"


def proxy_config(engines: list[EngineEndpoint], *, langfuse: bool, prometheus: bool) -> dict[str, Any]:
    """LiteLLM's ``config.yaml``: one model per engine, named as the engine serves it."""
    model_list = [
        {
            "model_name": engine.served_model_name,
            "litellm_params": {
                "model": f"openai/{engine.served_model_name}",
                "api_base": engine.service.url(path="/v1"),
                "api_key": ENGINE_API_KEY,
            },
            "model_info": {"engine": engine.engine, "source_model": engine.model},
        }
        for engine in engines
    ]
    settings: dict[str, Any] = {"callbacks": ["otel", "prometheus"] if prometheus else ["otel"], "drop_params": True}
    if langfuse:
        settings["success_callback"] = ["langfuse"]
        settings["failure_callback"] = ["langfuse"]
    return {
        "model_list": model_list,
        "litellm_settings": settings,
        "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY"},
    }


class LiteLlm(pulumi.ComponentResource):
    endpoint: ServiceRef
    """The proxy's OpenAI-compatible API (``/v1``) on port 4000."""
    master_key: pulumi.Output[str]
    """Admin key of the proxy (secret)."""

    def __init__(self, name: str, args: LiteLlmArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TOKEN_PREFIX}:litellm:LiteLlm", name, None, opts)
        settings, ns = args.settings, args.namespace.output
        if not args.engines:
            raise ValueError("LiteLLM needs at least one serving engine to route to")
        self.endpoint = ServiceRef(NAME, args.namespace.name, PORT, "http")
        child = pulumi.ResourceOptions(parent=self)
        app_labels = labels(NAME, "proxy")

        given = args.master_key
        key = given.apply(_require_sk_prefix) if given is not None else generated_secret(
            f"{name}-master-key-value", args.generated_secrets, length=48, prefix="sk-", opts=child
        )
        self.master_key = _secret(key)
        secrets = [
            k8s.core.v1.Secret(
                f"{name}-master-key",
                metadata={"name": MASTER_KEY_SECRET, "namespace": ns, "labels": app_labels},
                type="Opaque",
                string_data={"masterKey": self.master_key},
                opts=child,
            )
        ]
        env: list[dict[str, Any]] = [
            _secret_env("LITELLM_MASTER_KEY", MASTER_KEY_SECRET, "masterKey"),
            {"name": "OTEL_EXPORTER", "value": "otlp_grpc"},
            {"name": "OTEL_ENDPOINT", "value": args.tracing.otlp_grpc.url()},
            {"name": "OTEL_SERVICE_NAME", "value": NAME},
            *({"name": k, "value": v} for k, v in RUNTIME_ENV.items()),
        ]
        auth = args.tracing.auth
        env += _k8s.otlp_headers_env(
            name, auth=auth, namespace=ns, app=NAME, parent=self, variable="OTEL_HEADERS",
            headers=auth.authorization().apply(otel_headers) if auth else None,
        )
        if args.langfuse is not None:
            secrets.append(
                k8s.core.v1.Secret(
                    f"{name}-langfuse",
                    metadata={"name": LANGFUSE_SECRET, "namespace": ns, "labels": app_labels},
                    type="Opaque",
                    string_data={
                        "publicKey": _secret(args.langfuse.public_key),
                        "secretKey": _secret(args.langfuse.secret_key),
                    },
                    opts=child,
                )
            )
            env += [
                {"name": "LANGFUSE_HOST", "value": args.langfuse.web.url()},
                _secret_env("LANGFUSE_PUBLIC_KEY", LANGFUSE_SECRET, "publicKey"),
                _secret_env("LANGFUSE_SECRET_KEY", LANGFUSE_SECRET, "secretKey"),
            ]

        generated = proxy_config(
            args.engines, langfuse=args.langfuse is not None, prometheus=settings.prometheus_metrics
        )
        document = yaml.safe_dump(weighted(generated, args.canary), sort_keys=False)
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata={"name": f"{NAME}-config", "namespace": ns, "labels": app_labels},
            data={"config.yaml": document},
            opts=child,
        )
        probe: dict[str, Any] = {"httpGet": {"port": "http"}, "periodSeconds": 10, "timeoutSeconds": 5}
        metadata: dict[str, Any] = {"name": NAME, "namespace": ns, "labels": app_labels}
        scaling = args.autoscaling
        deployment_spec: dict[str, Any] = {
            # Under an HPA Pulumi must not own the count, or every `up` would undo the last scale.
            **({} if scaling else {"replicas": settings.replicas}),
            "selector": {"matchLabels": {"app": NAME}},
            "template": {
                "metadata": {
                    "labels": app_labels,
                    # Roll the pods when the model list or callbacks change.
                    "annotations": {"checksum/config": hashlib.sha256(document.encode()).hexdigest()},
                },
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True, "runAsUser": USER, "runAsGroup": USER,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    **_k8s.pod_spread(args.placement, {"app": NAME}),
                    "containers": [
                        {
                            "name": NAME,
                            "image": args.image,
                            "args": ["--config", CONFIG_PATH, "--port", str(PORT), "--num_workers", "1"],
                            "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
                            "env": env,
                            "resources": settings.resources.as_k8s(),
                            "startupProbe": {**_path(probe, "/health/liveliness"), "failureThreshold": 30},
                            "livenessProbe": {**_path(probe, "/health/liveliness"), "failureThreshold": 3},
                            "readinessProbe": {**_path(probe, "/health/readiness"), "failureThreshold": 3},
                            "volumeMounts": [
                                {"name": "config", "mountPath": "/etc/litellm", "readOnly": True},
                                *({"name": n, "mountPath": path} for n, (path, _) in WRITABLE.items()),
                            ],
                            "securityContext": _k8s.restricted_security_context(run_as_user=USER),
                        }
                    ],
                    "volumes": [
                        {"name": "config", "configMap": {"name": config_map.metadata.apply(lambda m: m["name"])}},
                        *({"name": n, "emptyDir": {"sizeLimit": size}} for n, (_, size) in WRITABLE.items()),
                    ],
                },
            },
        }
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=metadata,
            spec=deployment_spec,
            # The pod reads both Secrets at start; create them first rather than crash-loop.
            opts=pulumi.ResourceOptions(parent=self, depends_on=secrets),
        )
        if scaling:
            resource_hpa(
                f"{name}-hpa", metadata=metadata, target_kind="Deployment", target_name=NAME, scaling=scaling,
                parent=self,
            )
        if scaling or settings.replicas > 1:
            _k8s.disruption_budget(f"{name}-pdb", metadata=metadata, selector={"app": NAME}, parent=self)
        service_spec: dict[str, Any] = {
            "selector": {"app": NAME},
            "ports": [{"name": "http", "port": PORT, "targetPort": "http", "appProtocol": "http"}],
        }
        k8s.core.v1.Service(f"{name}-service", metadata=metadata, spec=service_spec, opts=child)
        if settings.prometheus_metrics:
            _k8s.service_monitor(
                f"{name}-servicemonitor",
                metadata={"name": NAME, "namespace": ns, "labels": app_labels},
                selector={"app": NAME},
                endpoint={
                    "port": "http",
                    # LiteLLM mounts the exporter at /metrics/ (/metrics redirects there).
                    "path": "/metrics/",
                    "interval": "30s",
                    "authorization": {
                        "type": "Bearer",
                        "credentials": {"name": MASTER_KEY_SECRET, "key": "masterKey"},
                    },
                },
                crds=args.monitoring_crds,
                parent=self,
            )
        self.register_outputs({"endpoint": self.endpoint.url(path="/v1")})


def _secret(value: pulumi.Input[str]) -> pulumi.Output[str]:
    """``Output.secret`` with the type mypy cannot infer through its overloads."""
    return cast(pulumi.Output[str], pulumi.Output.secret(cast(Any, value)))


def _secret_env(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def _path(probe: dict[str, Any], path: str) -> dict[str, Any]:
    return {**probe, "httpGet": {**probe["httpGet"], "path": path}}


def _require_sk_prefix(key: str) -> str:
    """Warn, not fail: the offline preview reads every secret as a placeholder without the prefix."""
    if not key.startswith("sk-"):
        pulumi.log.warn("litellmMasterKey does not start with 'sk-': LiteLLM will refuse it as master key")
    return key
