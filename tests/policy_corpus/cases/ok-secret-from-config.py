# expect: pass
# style: typed
# lab: yes
# why: a Secret from a Pulumi config secret, with a literal user name
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import corpus_secret

k8s.core.v1.Secret(
    "db", metadata={"name": "db", "namespace": "apps"}, string_data={"username": "app", "password": corpus_secret()}
)
