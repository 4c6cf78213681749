# expect: pass
# style: typed
# lab: no
# why: URLs with a user but no password
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.core.v1.ConfigMap(
    "app",
    metadata={"name": "app", "namespace": "apps"},
    data={"db": "postgresql://app@db.apps.svc:5432/app", "webhookSecret": "alertmanager-slack"},
)
