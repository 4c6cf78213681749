# expect: pass
# style: custom-resource
# lab: no
# why: an Istio Telemetry, not a routing object
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s

base = k8s.helm.v4.Chart("base", chart="base", version="1.30.3", namespace="istio-system")
k8s.apiextensions.CustomResource(
    "telemetry",
    api_version="telemetry.istio.io/v1",
    kind="Telemetry",
    metadata={"name": "mesh-default", "namespace": "istio-system"},
    spec={"tracing": [{"randomSamplingPercentage": 10}]},
    opts=pulumi.ResourceOptions(depends_on=[base]),
)
