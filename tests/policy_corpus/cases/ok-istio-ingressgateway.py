# expect: pass
# style: helm-v4
# lab: yes
# why: Istio's ingress gateway enabled is not a Kubernetes Ingress
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART

k8s.helm.v4.Chart(
    "web",
    chart=WEBAPP_CHART,
    namespace="apps",
    values={"gateways": {"istio-ingressgateway": {"enabled": True}}, "ingressClass": {"enabled": True}},
)
