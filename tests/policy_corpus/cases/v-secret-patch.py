# expect: k8s-secret-no-literal-data
# style: patch
# lab: yes
# why: a SecretPatch writing a literal token
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.core.v1.SecretPatch("db", metadata={"name": "db", "namespace": "apps"}, string_data={"api-token": "letmein99"})
