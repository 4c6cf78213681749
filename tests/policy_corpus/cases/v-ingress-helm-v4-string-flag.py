# expect: k8s-ingress-disallowed
# style: helm-v4
# lab: yes
# why: ingress enabled as the string "true" in a component subtree
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART

k8s.helm.v4.Chart(
    "loki",
    chart=WEBAPP_CHART,
    namespace="apps",
    values={"gateway": {"ingress": {"enabled": "true", "hosts": ["logs.example.com"]}}},
)
