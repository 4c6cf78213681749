# expect: k8s-secret-no-literal-data
# style: typed
# lab: no
# why: a typed Secret with a literal password
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import *  # noqa: F403

k8s.core.v1.Secret("db", metadata={"name": "db", "namespace": "apps"}, string_data={"password": "hunter2"})
