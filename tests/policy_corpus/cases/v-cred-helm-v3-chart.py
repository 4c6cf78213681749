# expect: no-credential-literals
# style: helm-v3-chart
# lab: no
# why: helm.v3.Chart values with a literal token
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART

k8s.helm.v3.Chart(
    "app", k8s.helm.v3.LocalChartOpts(path=WEBAPP_CHART, namespace="apps", values={"auth": {"token": "token-typed-in"}})
)
