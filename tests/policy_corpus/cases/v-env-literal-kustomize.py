# expect: k8s-env-no-literal-credentials
# style: kustomize
# lab: yes
# why: env-literal from a kustomization
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.kustomize.v2.Directory("env-literal", directory="assets/kustomize/env-literal")
