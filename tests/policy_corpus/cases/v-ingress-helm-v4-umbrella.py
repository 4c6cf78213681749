# expect: k8s-ingress-disallowed
# style: helm-v4
# lab: yes
# why: a per-replica ingress inside an umbrella chart's subchart values
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART

k8s.helm.v4.Chart(
    "tempo",
    chart=WEBAPP_CHART,
    namespace="apps",
    values={"tempo-distributed": {"queryFrontend": {"ingress": {"enabled": True}}}},
)
