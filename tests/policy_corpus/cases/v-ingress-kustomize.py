# expect: k8s-ingress-disallowed
# style: kustomize
# lab: no
# why: ingress from a kustomization
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.kustomize.v2.Directory("ingress", directory="assets/kustomize/ingress")
