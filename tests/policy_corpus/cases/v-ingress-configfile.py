# expect: k8s-ingress-disallowed
# style: configfile
# lab: yes
# why: ingress from a manifest file
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigFile("ingress", file="assets/manifests/ingress.yaml")
