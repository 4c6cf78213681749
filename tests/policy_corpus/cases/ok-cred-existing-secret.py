# expect: pass
# style: helm-v4
# lab: yes
# why: chart values name an existing Secret and its keys
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART

k8s.helm.v4.Chart(
    "grafana",
    chart=WEBAPP_CHART,
    namespace="apps",
    values={
        "admin": {"existingSecret": "grafana-admin", "passwordKey": "password", "userKey": "user"},
        "auth": {"rootPasswordSecretKey": "secretKey"},
    },
)
