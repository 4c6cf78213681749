# expect: k8s-secret-no-literal-data
# style: kustomize
# lab: no
# why: secret from a kustomization
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.kustomize.v2.Directory("secret", directory="assets/kustomize/secret")
