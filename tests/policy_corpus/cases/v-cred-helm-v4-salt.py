# expect: no-credential-literals
# style: helm-v4
# lab: yes
# why: a salt as a plain string
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART

k8s.helm.v4.Chart("langfuse", chart=WEBAPP_CHART, namespace="apps", values={"langfuse": {"salt": "pepper"}})
