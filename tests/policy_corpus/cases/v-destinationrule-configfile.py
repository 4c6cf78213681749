# expect: istio-routing-resources-disallowed
# style: configfile
# lab: no
# why: destinationrule from a manifest file
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigFile("destinationrule", file="assets/manifests/destinationrule.yaml")
