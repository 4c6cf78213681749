# expect: node-exporter-sidecar-opt-out
# style: helm-v4
# lab: no
# why: kube-prometheus-stack values without the opt-out, injected namespace
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import injected_namespace

ns = injected_namespace()
k8s.helm.v4.Chart(
    "kps",
    chart="kube-prometheus-stack",
    version="88.5.3",
    namespace=ns.metadata.name,
    values={"prometheus-node-exporter": {"podLabels": {"team": "ops"}}},
)
