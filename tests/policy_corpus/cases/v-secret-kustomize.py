# expect: k8s-secret-no-literal-data
# style: kustomize
# lab: no
# why: secret from a kustomization
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import *  # noqa: F403

k8s.kustomize.v2.Directory("secret", directory="assets/kustomize/secret")
