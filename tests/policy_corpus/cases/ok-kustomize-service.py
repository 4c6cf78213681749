# expect: pass
# style: kustomize
# lab: no
# why: a kustomization of an ordinary Service
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.kustomize.v2.Directory("svc", directory="assets/kustomize/service")
