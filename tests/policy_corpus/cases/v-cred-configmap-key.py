# expect: no-credential-literals
# style: typed
# lab: yes
# why: a ConfigMap key named password
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.core.v1.ConfigMap("app", metadata={"name": "app", "namespace": "apps"}, data={"db_password": "hunter2"})
