# expect: k8s-ingress-disallowed
# style: helm-v4
# lab: yes
# why: a values file switches the Ingress on
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART

k8s.helm.v4.Chart(
    "web", chart=WEBAPP_CHART, namespace="apps", value_yaml_files=[pulumi.FileAsset("assets/values/ingress-on.yaml")]
)
