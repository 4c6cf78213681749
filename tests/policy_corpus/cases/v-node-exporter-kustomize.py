# expect: node-exporter-sidecar-opt-out
# style: kustomize
# lab: no
# why: node-exporter from a kustomization
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import injected_namespace

injected_namespace("monitoring")
k8s.kustomize.v2.Directory("node-exporter", directory="assets/kustomize/node-exporter")
