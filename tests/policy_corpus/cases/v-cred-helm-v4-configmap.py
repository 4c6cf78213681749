# expect: no-credential-literals
# style: helm-v4
# lab: yes
# why: chart config rendered into a ConfigMap holds an API key
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART

k8s.helm.v4.Chart("app", chart=WEBAPP_CHART, namespace="apps", values={"config": {"OPENAI_API_KEY": "typed-in-key"}})
