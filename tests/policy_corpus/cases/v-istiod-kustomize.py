# expect: istiod-requires-gateway-api-crds
# style: kustomize
# lab: no
# why: istiod from a kustomization
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.kustomize.v2.Directory("istiod", directory="assets/kustomize/istiod")
