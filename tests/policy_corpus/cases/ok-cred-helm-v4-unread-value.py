# expect: pass
# style: helm-v4
# lab: yes
# why: a password under a values key the chart never reads: Helm ignores it, nothing renders or stores it
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART

k8s.helm.v4.Chart("web", chart=WEBAPP_CHART, namespace="apps", values={"dashboards": {"adminPassword": "grafana123"}})
