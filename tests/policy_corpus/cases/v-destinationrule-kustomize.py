# expect: istio-routing-resources-disallowed
# style: kustomize
# lab: yes
# why: destinationrule from a kustomization
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.kustomize.v2.Directory("destinationrule", directory="assets/kustomize/destinationrule")
