# expect: k8s-ingress-disallowed
# style: typed
# lab: yes
# why: typed networking.k8s.io/v1 Ingress
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.networking.v1.Ingress(
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
