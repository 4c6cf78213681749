# expect: k8s-ingress-disallowed
# style: patch
# lab: yes
# why: IngressPatch sets rules on an Ingress
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.networking.v1.IngressPatch(
    "web",
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
