# expect: istio-routing-resources-disallowed
# style: helm-v3-release
# lab: no
# why: Release values create a DestinationRule
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART

k8s.helm.v3.Release("web", chart=WEBAPP_CHART, namespace="apps", values={"destinationRule": {"enabled": True}})
