# expect: k8s-secret-no-literal-data
# style: configfile
# lab: no
# why: secret from a manifest file
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigFile("secret", file="assets/manifests/secret.yaml")
