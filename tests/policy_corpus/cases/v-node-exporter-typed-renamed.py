# expect: node-exporter-sidecar-opt-out
# style: typed
# lab: yes
# why: node-exporter's image under another name, injected namespace
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import container, injected_namespace

injected_namespace()
labels = {"app": "host-metrics"}
k8s.apps.v1.DaemonSet(
    "host-metrics",
    metadata={"name": "host-metrics", "namespace": "monitoring"},
    spec={
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "hostNetwork": True,
                "containers": [container("metrics", "quay.io/prometheus/node-exporter:v1.9.1")],
            },
        },
    },
)
