# expect: pass
# style: helm-v3-chart
# lab: no
# why: the older helm.v3.Chart with ordinary values (no crash)
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART

k8s.helm.v3.Chart(
    "web", k8s.helm.v3.LocalChartOpts(path=WEBAPP_CHART, namespace="apps", values={"config": {"LOG_LEVEL": "info"}})
)
