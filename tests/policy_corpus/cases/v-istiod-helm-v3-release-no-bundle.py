# expect: istiod-requires-gateway-api-crds
# style: helm-v3-release
# lab: no
# why: istiod as a helm.v3.Release without any Gateway API CRDs
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART

k8s.helm.v3.Release("istiod", chart=WEBAPP_CHART, namespace="istio-system")
