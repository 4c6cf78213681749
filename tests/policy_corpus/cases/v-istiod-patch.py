# expect: istiod-requires-gateway-api-crds
# style: patch
# lab: no
# why: a DeploymentPatch that runs pilot-discovery, no CRDs
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.apps.v1.DeploymentPatch(
    "istiod",
    metadata={"name": "istiod", "namespace": "istio-system"},
    spec={"template": {"spec": {"containers": [{"name": "discovery", "image": "docker.io/istio/pilot:1.30.3"}]}}},
)
