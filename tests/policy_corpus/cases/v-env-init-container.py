# expect: k8s-env-no-literal-credentials
# style: typed
# lab: no
# why: an init container's POSTGRES_PASSWORD literal
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import APP_IMAGE, container

labels = {"app": "db"}
k8s.apps.v1.StatefulSet(
    "db",
    metadata={"name": "db", "namespace": "apps"},
    spec={
        "serviceName": "db",
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "initContainers": [
                    container("init", APP_IMAGE, env=[{"name": "POSTGRES_PASSWORD", "value": "postgres"}])
                ],
                "containers": [container("db", APP_IMAGE)],
            },
        },
    },
)
