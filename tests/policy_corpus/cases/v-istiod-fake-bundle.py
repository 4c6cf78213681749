# expect: istiod-requires-gateway-api-crds
# style: configgroup-objs
# lab: no
# why: istiod waits for a group that only mentions the Gateway API group
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART

notes = k8s.yaml.v2.ConfigGroup(
    "gateway-api-notes",
    objs=[
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "notes", "namespace": "default"},
            "data": {"group": "gateway.networking.k8s.io"},
        }
    ],
)
k8s.helm.v4.Chart(
    "istiod", chart=WEBAPP_CHART, namespace="istio-system", opts=pulumi.ResourceOptions(depends_on=[notes])
)
