# expect: k8s-env-no-literal-credentials
# style: patch
# lab: no
# why: a DeploymentPatch adding a literal password env
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.apps.v1.DeploymentPatch(
    "app",
    metadata={"name": "app", "namespace": "apps"},
    spec={
        "template": {
            "spec": {"containers": [{"name": "app", "env": [{"name": "REDIS_PASSWORD", "value": "redis123"}]}]}
        }
    },
)
