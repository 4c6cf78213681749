# expect: k8s-secret-no-literal-data
# style: typed
# lab: no
# why: a typed Secret with a base64 literal (supersecret123)
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.core.v1.Secret("db", metadata={"name": "db", "namespace": "apps"}, data={"DB_PASSWORD": "c3VwZXJzZWNyZXQxMjM="})
