# expect: k8s-env-no-literal-credentials
# style: helm-v3-release
# lab: no
# why: additionalEnv in Release values
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART

k8s.helm.v3.Release(
    "app",
    chart=WEBAPP_CHART,
    namespace="apps",
    values={"additionalEnv": [{"name": "SMTP_PASSWORD", "value": "mailpass1"}]},
)
