# expect: no-credential-literals
# style: typed
# lab: no
# why: a literal URL password after a URL whose password is a reference (each URL is judged, not the first)
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.core.v1.ConfigMap(
    "app",
    metadata={"name": "app", "namespace": "apps"},
    data={"urls": "primary=postgres://app:${DB_PASSWORD}@db:5432/app replica=postgres://app:hunter2@db-ro:5432/app"},
)
