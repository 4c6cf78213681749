# expect: pod-security-level
# style: kustomize
# lab: no
# why: a root container in a restricted namespace, from a kustomization
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.kustomize.v2.Directory("root-app", directory="assets/kustomize/root-app")
