# expect: istio-routing-resources-disallowed
# style: configgroup-objs
# lab: yes
# why: virtualservice as a ConfigGroup object
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigGroup(
    "virtualservice",
    objs=[
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": {"name": "web", "namespace": "apps"},
            "spec": {"hosts": ["web.example.com"], "http": [{"route": [{"destination": {"host": "web"}}]}]},
        }
    ],
)
