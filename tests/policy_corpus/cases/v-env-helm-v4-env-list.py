# expect: k8s-env-no-literal-credentials
# style: helm-v4
# lab: yes
# why: the chart's env list with a literal password (rendered into the Deployment)
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART

k8s.helm.v4.Chart(
    "app", chart=WEBAPP_CHART, namespace="apps", values={"env": [{"name": "ADMIN_PASSWORD", "value": "admin"}]}
)
