# expect: k8s-secret-no-literal-data
# style: typed
# lab: no
# why: a typed Secret with a literal password
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.core.v1.Secret("db", metadata={"name": "db", "namespace": "apps"}, string_data={"password": "hunter2"})
