# expect: no-credential-literals
# style: helm-v4
# lab: yes
# why: a Pulumi secret put into chart values (rendered in clear)
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART, corpus_secret

k8s.helm.v4.Chart("grafana", chart=WEBAPP_CHART, namespace="apps", values={"adminPassword": corpus_secret()})
