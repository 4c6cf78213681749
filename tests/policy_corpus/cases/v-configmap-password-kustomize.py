# expect: no-credential-literals
# style: kustomize
# lab: no
# why: configmap-password from a kustomization
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import *  # noqa: F403

k8s.kustomize.v2.Directory("configmap-password", directory="assets/kustomize/configmap-password")
