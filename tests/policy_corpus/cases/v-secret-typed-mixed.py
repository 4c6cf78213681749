# expect: k8s-secret-no-literal-data
# style: typed
# lab: yes
# why: one Pulumi secret plus a literal salt in the same Secret
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import corpus_secret

k8s.core.v1.Secret(
    "lf",
    metadata={"name": "lf", "namespace": "apps"},
    string_data={"nextauth-secret": corpus_secret(), "salt": "pepper123"},
)
