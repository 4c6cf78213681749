# expect: node-exporter-sidecar-opt-out
# style: helm-v3-release
# lab: no
# why: prometheus-node-exporter as a Release in an injected namespace
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import injected_namespace

ns = injected_namespace()
k8s.helm.v3.Release(
    "ne",
    chart="prometheus-node-exporter",
    version="4.47.0",
    namespace=ns.metadata.name,
    repository_opts={"repo": "https://prometheus-community.github.io/helm-charts"},
)
