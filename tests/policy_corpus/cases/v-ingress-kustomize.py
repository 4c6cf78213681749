# expect: k8s-ingress-disallowed
# style: kustomize
# lab: no
# why: ingress from a kustomization
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import *  # noqa: F403

k8s.kustomize.v2.Directory("ingress", directory="assets/kustomize/ingress")
