# expect: no-credential-literals
# style: configfile
# lab: no
# why: configmap-password from a manifest file
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigFile("configmap-password", file="assets/manifests/configmap-password.yaml")
