"""What the corpus programs share: a sized, probed container, a Deployment, an injected namespace.

Paths are relative to the program's directory (the offline preview and the lab both run a program
from a directory holding ``assets/`` beside it).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

HEALTH = {"httpGet": {"path": "/health", "port": 8000}}
SIZED = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
VLLM_IMAGE = "vllm/vllm-openai:v0.10.1"
APP_IMAGE = "ghcr.io/example/app:1.0"
ASSETS = "assets"
WEBAPP_CHART = f"{ASSETS}/charts/webapp"
GATEWAY_CRDS_CHART = f"{ASSETS}/charts/gateway-api-crds"


def container(name: str, image: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": image, "resources": SIZED, "readinessProbe": HEALTH, "livenessProbe": HEALTH,
            **extra}


def pod_spec(*containers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"containers": list(containers), **extra}


def deployment(name: str, spec_container: dict[str, Any], namespace: str = "apps", **pod: Any) -> Any:
    labels = {"app": name}
    return k8s.apps.v1.Deployment(name, metadata={"name": name, "namespace": namespace}, spec={
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": pod_spec(spec_container, **pod)},
    })


def deployment_manifest(name: str, spec_container: dict[str, Any], namespace: str = "apps") -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": pod_spec(spec_container)}}}


def injected_namespace(name: str = "monitoring") -> Any:
    return k8s.core.v1.Namespace(name, metadata={"name": name, "labels": {"istio-injection": "enabled"}})


def corpus_secret() -> pulumi.Output[str]:
    return pulumi.Config().require_secret("corpusSecret")
