# expect: istiod-requires-gateway-api-crds
# style: configfile
# lab: no
# why: istiod from a manifest file
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigFile("istiod", file="assets/manifests/istiod.yaml")
