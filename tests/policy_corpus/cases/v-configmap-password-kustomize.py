# expect: no-credential-literals
# style: kustomize
# lab: no
# why: configmap-password from a kustomization
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.kustomize.v2.Directory("configmap-password", directory="assets/kustomize/configmap-password")
