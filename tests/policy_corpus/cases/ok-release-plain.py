# expect: pass
# style: helm-v3-release
# lab: yes
# why: a Release with ordinary values
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART

k8s.helm.v3.Release("web", chart=WEBAPP_CHART, namespace="apps", values={"ingress": {"enabled": False}})
