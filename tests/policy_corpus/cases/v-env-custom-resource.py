# expect: k8s-env-no-literal-credentials
# style: custom-resource
# lab: no
# why: a Deployment through CustomResource with a literal API key
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import APP_IMAGE, container

k8s.apiextensions.CustomResource(
    "app",
    api_version="apps/v1",
    kind="Deployment",
    metadata={"name": "app", "namespace": "apps"},
    spec={
        "selector": {"matchLabels": {"app": "app"}},
        "template": {
            "metadata": {"labels": {"app": "app"}},
            "spec": {
                "containers": [container("app", APP_IMAGE, env=[{"name": "OPENAI_API_KEY", "value": "not-a-real-key"}])]
            },
        },
    },
)
