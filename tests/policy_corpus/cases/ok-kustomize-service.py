# expect: pass
# style: kustomize
# lab: no
# why: a kustomization of an ordinary Service
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import *  # noqa: F403

k8s.kustomize.v2.Directory("svc", directory="assets/kustomize/service")
