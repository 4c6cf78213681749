# expect: istio-routing-resources-disallowed
# style: custom-resource
# lab: yes
# why: a VirtualService CustomResource
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.apiextensions.CustomResource(
    "web",
    api_version="networking.istio.io/v1",
    kind="VirtualService",
    metadata={"name": "web", "namespace": "apps"},
    spec={"hosts": ["web.example.com"], "http": [{"route": [{"destination": {"host": "web"}}]}]},
)
