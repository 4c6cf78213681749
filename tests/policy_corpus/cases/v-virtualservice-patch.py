# expect: istio-routing-resources-disallowed
# style: patch
# lab: no
# why: a CustomResourcePatch on a VirtualService
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.apiextensions.CustomResourcePatch(
    "web",
    api_version="networking.istio.io/v1",
    kind="VirtualService",
    metadata={"name": "web", "namespace": "apps"},
    spec={"http": [{"timeout": "5s", "route": [{"destination": {"host": "web"}}]}]},
)
