# expect: istio-routing-resources-disallowed
# style: kustomize
# lab: no
# why: virtualservice from a kustomization
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.kustomize.v2.Directory("virtualservice", directory="assets/kustomize/virtualservice")
