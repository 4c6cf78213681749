# expect: istio-routing-resources-disallowed
# style: configfile
# lab: no
# why: virtualservice from a manifest file
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigFile("virtualservice", file="assets/manifests/virtualservice.yaml")
