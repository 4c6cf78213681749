# expect: no-credential-literals
# style: helm-v3-release
# lab: yes
# why: a nested database password
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART

k8s.helm.v3.Release(
    "app",
    chart=WEBAPP_CHART,
    namespace="apps",
    values={"postgresql": {"auth": {"postgresPassword": "postgres", "username": "app"}}},
)
