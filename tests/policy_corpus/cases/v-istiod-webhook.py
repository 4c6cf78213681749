# expect: istiod-requires-gateway-api-crds
# style: typed
# lab: no
# why: istiod's injector webhook from raw manifests, no CRDs
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.admissionregistration.v1.MutatingWebhookConfiguration(
    "injector",
    metadata={"name": "istio-sidecar-injector"},
    webhooks=[
        {
            "name": "sidecar-injector.istio.io",
            "admissionReviewVersions": ["v1"],
            "sideEffects": "None",
            "clientConfig": {"service": {"name": "istiod", "namespace": "istio-system", "path": "/inject"}},
        }
    ],
)
