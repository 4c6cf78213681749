# expect: k8s-ingress-disallowed
# style: helm-v3-release
# lab: yes
# why: a helm.v3.Release with the Ingress switched on
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART

k8s.helm.v3.Release("web", chart=WEBAPP_CHART, namespace="apps", values={"ingress": {"enabled": True}})
