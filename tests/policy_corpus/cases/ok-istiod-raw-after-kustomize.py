# expect: pass
# style: kustomize
# lab: no
# why: raw istiod Deployment after CRDs from a kustomization
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s

crds = k8s.yaml.v2.ConfigGroup("gateway-api-crds", files=["assets/gateway-api-crds.yaml"])
k8s.yaml.v2.ConfigFile("istiod", file="assets/manifests/istiod.yaml", opts=pulumi.ResourceOptions(depends_on=[crds]))
