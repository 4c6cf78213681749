# expect: node-exporter-sidecar-opt-out
# style: typed
# lab: no
# why: a hostNetwork DaemonSet on port 9100 with node-exporter's flags, image named otherwise
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import container, injected_namespace

injected_namespace()
labels = {"app": "hostmon"}
k8s.apps.v1.DaemonSet(
    "hostmon",
    metadata={"name": "hostmon", "namespace": "monitoring"},
    spec={
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "hostNetwork": True,
                "containers": [
                    container(
                        "hostmon",
                        "registry.example.com/ops/hostmon:3.1",
                        args=["--path.procfs=/host/proc"],
                        ports=[{"containerPort": 9100}],
                    )
                ],
            },
        },
    },
)
