# expect: istiod-requires-gateway-api-crds
# style: helm-v4
# lab: yes
# why: istiod chart and CRDs, no edge between them
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigFile("gateway-api-crds", file="assets/gateway-api-crds.yaml")
k8s.helm.v4.Chart("istiod", chart="assets/charts/webapp", namespace="istio-system")
