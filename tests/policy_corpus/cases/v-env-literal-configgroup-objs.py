# expect: k8s-env-no-literal-credentials
# style: configgroup-objs
# lab: no
# why: env-literal as a ConfigGroup object
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigGroup(
    "env-literal",
    objs=[
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "app", "namespace": "apps"},
            "spec": {
                "selector": {"matchLabels": {"app": "app"}},
                "template": {
                    "metadata": {"labels": {"app": "app"}},
                    "spec": {
                        "containers": [
                            {
                                "name": "app",
                                "image": "ghcr.io/example/app:1.0",
                                "resources": {
                                    "requests": {"cpu": "100m", "memory": "128Mi"},
                                    "limits": {"cpu": "1", "memory": "1Gi"},
                                },
                                "readinessProbe": {"httpGet": {"path": "/health", "port": 8000}},
                                "livenessProbe": {"httpGet": {"path": "/health", "port": 8000}},
                                "env": [{"name": "LANGFUSE_SECRET_KEY", "value": "lf-typed-in-secret"}],
                            }
                        ]
                    },
                },
            },
        }
    ],
)
