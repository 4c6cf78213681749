# expect: no-credential-literals
# style: typed
# lab: no
# why: a JWT in an annotation
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.core.v1.Service(
    "web",
    metadata={
        "name": "web",
        "namespace": "apps",
        "annotations": {
            "example.com/auth": "eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiJjb3JwdXMifQ" + ".c2lnbmF0dXJlLW5vdC1yZWFs"
        },
    },
    spec={"selector": {"app": "web"}, "ports": [{"port": 80}]},
)
