# expect: istio-routing-resources-disallowed
# style: custom-resource
# lab: no
# why: a DestinationRule of an older networking.istio.io version
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.apiextensions.CustomResource(
    "web",
    api_version="networking.istio.io/v1beta1",
    kind="DestinationRule",
    metadata={"name": "web", "namespace": "apps"},
    spec={"host": "web", "subsets": [{"name": "v1", "labels": {"v": "1"}}]},
)
