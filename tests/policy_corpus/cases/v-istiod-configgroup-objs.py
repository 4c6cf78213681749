# expect: istiod-requires-gateway-api-crds
# style: configgroup-objs
# lab: no
# why: istiod as a ConfigGroup object
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigGroup(
    "istiod",
    objs=[
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "istiod", "namespace": "istio-system"},
            "spec": {
                "selector": {"matchLabels": {"app": "istiod"}},
                "template": {
                    "metadata": {"labels": {"app": "istiod"}},
                    "spec": {
                        "containers": [
                            {
                                "name": "discovery",
                                "image": "docker.io/istio/pilot:1.30.3",
                                "resources": {
                                    "requests": {"cpu": "100m", "memory": "128Mi"},
                                    "limits": {"cpu": "1", "memory": "1Gi"},
                                },
                                "readinessProbe": {"httpGet": {"path": "/health", "port": 8000}},
                                "livenessProbe": {"httpGet": {"path": "/health", "port": 8000}},
                                "args": ["discovery", "--monitoringAddr=:15014"],
                            }
                        ]
                    },
                },
            },
        }
    ],
)
