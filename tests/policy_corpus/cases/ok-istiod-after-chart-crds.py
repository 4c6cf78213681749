# expect: pass
# style: helm-v4
# lab: yes
# why: Gateway API CRDs installed by a chart, istiod after them
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import GATEWAY_CRDS_CHART, WEBAPP_CHART

crds = k8s.helm.v4.Chart("gateway-api", chart=GATEWAY_CRDS_CHART)
k8s.helm.v4.Chart(
    "istiod", chart=WEBAPP_CHART, namespace="istio-system", opts=pulumi.ResourceOptions(depends_on=[crds])
)
