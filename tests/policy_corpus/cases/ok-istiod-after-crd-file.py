# expect: pass
# style: configfile
# lab: no
# why: istiod chart depends on the CRD ConfigFile
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART

crds = k8s.yaml.v2.ConfigFile("gateway-api-crds", file="assets/gateway-api-crds.yaml")
k8s.helm.v4.Chart(
    "istiod", chart=WEBAPP_CHART, namespace="istio-system", opts=pulumi.ResourceOptions(depends_on=[crds])
)
