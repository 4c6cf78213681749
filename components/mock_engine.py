"""MockEngine: the CPU-only stand-in for vLLM, so the whole platform runs without a GPU.

The server is ``apps/mock_engine/mock_engine_server.py`` (standard library only), mounted from a ConfigMap into
the stock pinned Python image: no image to build or push. It exports its spans as OTLP/HTTP
JSON to the collector's HTTP ServiceRef (with the OTLP token from a Secret when ``tracing.otlpAuth``
is on) and serves vLLM-named metrics, so traces, dashboards
and alerts behave as on the GPU stack. A checksum of the script rolls the pods when it changes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict

from components import _engine
from components._k8s import (
    TOKEN_PREFIX,
    disruption_budget,
    labels,
    otlp_headers_env,
    pod_spread,
    restricted_security_context,
)
from components.contracts import CrdReadiness, EngineEndpoint, NamespaceRef, TracingEndpoints
from config.capacity import Placement
from config.sections import MockEngine as MockEngineSettings

SCRIPT = Path(__file__).resolve().parent.parent / "apps" / "mock_engine" / "mock_engine_server.py"
"""The server (application code, kept under ``apps/``); its file name is the ConfigMap key."""
APP = "mock-llm"


class MockEngineArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    settings: MockEngineSettings
    image: str
    namespace: NamespaceRef
    tracing: TracingEndpoints
    monitoring_crds: CrdReadiness
    placement: Placement = Placement()
    """Spreading of the replicas over nodes (``placement``)."""


class MockEngine(pulumi.ComponentResource):
    endpoint: EngineEndpoint
    """The ``mock-llm`` Service as LiteLLM and the gateway reach it."""

    def __init__(self, name: str, args: MockEngineArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TOKEN_PREFIX}:mock_engine:MockEngine", name, None, opts)
        m, ns = args.settings, args.namespace.output
        self.endpoint = _engine.endpoint("mock", args.namespace.name, m.served_model_name, m.served_model_name)
        script = SCRIPT.read_text(encoding="utf-8")
        script_map = k8s.core.v1.ConfigMap(
            f"{name}-script",
            metadata=_engine.metadata(f"{APP}-script", ns, APP),
            data={SCRIPT.name: script},
            opts=pulumi.ResourceOptions(parent=self),
        )
        env = {
            "PORT": str(_engine.PORT),
            "MOCK_MODEL": m.served_model_name,
            "MOCK_TOKENS_PER_SECOND": f"{m.tokens_per_second:g}",
            "MOCK_MAX_TOKENS": str(m.max_tokens),
            "OTEL_EXPORTER_OTLP_ENDPOINT": args.tracing.otlp_http.url(),
            "OTEL_SERVICE_NAME": APP,
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        token_env = otlp_headers_env(name, auth=args.tracing.auth, namespace=ns, app=APP, parent=self)
        pod_labels = labels(APP, "engine")
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=_engine.metadata(APP, ns, APP),
            spec={
                "replicas": m.replicas,
                "selector": {"matchLabels": _engine.selector(APP)},
                "template": {
                    "metadata": {
                        "labels": pod_labels,
                        "annotations": {"checksum/script": hashlib.sha256(script.encode()).hexdigest()},
                    },
                    "spec": {
                        "automountServiceAccountToken": False,
                        "enableServiceLinks": False,
                        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                        **pod_spread(args.placement, _engine.selector(APP)),
                        "containers": [
                            {
                                "name": "mock-engine",
                                "image": args.image,
                                "command": ["python", f"/app/{SCRIPT.name}"],
                                "env": [{"name": k, "value": v} for k, v in env.items()] + token_env,
                                "ports": [{"name": "http", "containerPort": _engine.PORT, "protocol": "TCP"}],
                                "resources": m.resources.as_k8s(),
                                "readinessProbe": _engine.http_probe("/health", 5, 3, timeout=2),
                                "livenessProbe": _engine.http_probe("/health", 10, 3, timeout=5),
                                "securityContext": restricted_security_context(),
                                "volumeMounts": [{"name": "script", "mountPath": "/app", "readOnly": True}],
                            }
                        ],
                        "volumes": [{"name": "script", "configMap": {"name": script_map.metadata["name"]}}],
                    },
                },
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        if m.replicas > 1:
            disruption_budget(
                f"{name}-pdb", metadata=_engine.metadata(APP, ns, APP), selector=_engine.selector(APP), parent=self
            )
        _engine.engine_service(self, name, self.endpoint.service, ns, APP)
        _engine.service_monitor(self, name, self.endpoint.service, ns, APP, args.monitoring_crds)
        self.register_outputs({})
