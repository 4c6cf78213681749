# expect: node-exporter-sidecar-opt-out
# style: custom-resource
# lab: no
# why: a DaemonSet declared through apiextensions.CustomResource
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import container, injected_namespace

injected_namespace()
labels = {"app": "ne"}
k8s.apiextensions.CustomResource(
    "ne",
    api_version="apps/v1",
    kind="DaemonSet",
    metadata={"name": "ne", "namespace": "monitoring"},
    spec={
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {"hostNetwork": True, "containers": [container("ne", "quay.io/prometheus/node-exporter:v1.9.1")]},
        },
    },
)
