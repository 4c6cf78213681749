# expect: k8s-ingress-disallowed
# style: helm-v3-chart
# lab: no
# why: the older helm.v3.Chart (SDK invokes kubernetes:helm:template)
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART

k8s.helm.v3.Chart(
    "web", k8s.helm.v3.LocalChartOpts(path=WEBAPP_CHART, namespace="apps", values={"ingress": {"enabled": True}})
)
