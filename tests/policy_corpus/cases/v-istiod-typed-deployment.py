# expect: istiod-requires-gateway-api-crds
# style: typed
# lab: yes
# why: istiod as a raw Deployment (pilot image, discovery args), no CRDs
"""Policy corpus case (see tests/policy_corpus/README.md)."""

from corpus_support import container, deployment

deployment(
    "control-plane",
    container("discovery", "docker.io/istio/pilot:1.30.3", args=["discovery"]),
    namespace="istio-system",
)
