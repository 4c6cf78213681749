# expect: pass
# style: typed
# lab: no
# why: node-exporter with the sidecar opt-out in an injected namespace
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import container, injected_namespace

injected_namespace()
labels = {"app": "node-exporter", "sidecar.istio.io/inject": "false"}
k8s.apps.v1.DaemonSet(
    "node-exporter",
    metadata={"name": "node-exporter", "namespace": "monitoring"},
    spec={
        "selector": {"matchLabels": {"app": "node-exporter"}},
        "template": {
            "metadata": {"labels": labels},
            "spec": {"hostNetwork": True, "containers": [container("ne", "quay.io/prometheus/node-exporter:v1.9.1")]},
        },
    },
)
