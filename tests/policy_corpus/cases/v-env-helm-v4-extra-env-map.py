# expect: k8s-env-no-literal-credentials
# style: helm-v4
# lab: yes
# why: extraEnv map with a literal secret key
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART

k8s.helm.v4.Chart("app", chart=WEBAPP_CHART, namespace="apps", values={"extraEnv": {"LANGFUSE_SECRET_KEY": "lf-typed"}})
