# expect: pass
# style: helm-v4
# lab: no
# why: chart env entries with valueFrom
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART

k8s.helm.v4.Chart(
    "app",
    chart=WEBAPP_CHART,
    namespace="apps",
    values={"env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]},
)
