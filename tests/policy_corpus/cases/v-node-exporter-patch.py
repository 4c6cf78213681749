# expect: node-exporter-sidecar-opt-out
# style: patch
# lab: no
# why: a DaemonSetPatch switching to node-exporter without the opt-out
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import injected_namespace

injected_namespace()
k8s.apps.v1.DaemonSetPatch(
    "ne",
    metadata={"name": "ne", "namespace": "monitoring"},
    spec={
        "template": {
            "spec": {
                "hostNetwork": True,
                "containers": [{"name": "ne", "image": "quay.io/prometheus/node-exporter:v1.9.1"}],
            }
        }
    },
)
