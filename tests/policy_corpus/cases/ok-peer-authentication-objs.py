# expect: pass
# style: configgroup-objs
# lab: no
# why: PeerAuthentication in a ConfigGroup
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s

base = k8s.helm.v4.Chart("base", chart="base", version="1.30.3", namespace="istio-system")
k8s.yaml.v2.ConfigGroup(
    "mtls",
    objs=[
        {
            "apiVersion": "security.istio.io/v1",
            "kind": "PeerAuthentication",
            "metadata": {"name": "default", "namespace": "istio-system"},
            "spec": {"mtls": {"mode": "STRICT"}},
        }
    ],
    opts=pulumi.ResourceOptions(depends_on=[base]),
)
