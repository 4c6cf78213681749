# expect: node-exporter-sidecar-opt-out
# style: configgroup-objs
# lab: no
# why: node-exporter as a ConfigGroup object
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import injected_namespace

injected_namespace("monitoring")
k8s.yaml.v2.ConfigGroup(
    "node-exporter",
    objs=[
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "host-metrics", "namespace": "monitoring"},
            "spec": {
                "selector": {"matchLabels": {"app": "host-metrics"}},
                "template": {
                    "metadata": {"labels": {"app": "host-metrics"}},
                    "spec": {
                        "containers": [
                            {
                                "name": "metrics",
                                "image": "quay.io/prometheus/node-exporter:v1.9.1",
                                "resources": {
                                    "requests": {"cpu": "100m", "memory": "128Mi"},
                                    "limits": {"cpu": "1", "memory": "1Gi"},
                                },
                                "readinessProbe": {"httpGet": {"path": "/health", "port": 8000}},
                                "livenessProbe": {"httpGet": {"path": "/health", "port": 8000}},
                                "ports": [{"containerPort": 9100, "name": "metrics"}],
                            }
                        ],
                        "hostNetwork": True,
                    },
                },
            },
        }
    ],
)
