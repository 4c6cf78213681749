# expect: k8s-ingress-disallowed
# style: custom-resource
# lab: no
# why: an Ingress declared through apiextensions.CustomResource
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.apiextensions.CustomResource(
    "web",
    api_version="networking.k8s.io/v1",
    kind="Ingress",
    metadata={"name": "web", "namespace": "apps"},
    spec={
        "rules": [
            {
                "host": "web.example.com",
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "web", "port": {"number": 80}}},
                        }
                    ]
                },
            }
        ]
    },
)
