# expect: pass
# style: typed
# lab: no
# why: node-exporter in a namespace without injection
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import container

k8s.core.v1.Namespace("metrics", metadata={"name": "metrics"})
labels = {"app": "host-metrics"}
k8s.apps.v1.DaemonSet(
    "host-metrics",
    metadata={"name": "host-metrics", "namespace": "metrics"},
    spec={
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {"hostNetwork": True, "containers": [container("ne", "quay.io/prometheus/node-exporter:v1.9.1")]},
        },
    },
)
