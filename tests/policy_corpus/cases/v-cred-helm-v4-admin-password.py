# expect: no-credential-literals
# style: helm-v4
# lab: yes
# why: a chart's adminPassword as a plain string, rendered into the chart's env ConfigMap
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART

k8s.helm.v4.Chart("grafana", chart=WEBAPP_CHART, namespace="apps", values={"grafana": {"adminPassword": "grafana123"}})
