# expect: k8s-env-no-literal-credentials
# style: configfile
# lab: no
# why: env-literal from a manifest file
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigFile("env-literal", file="assets/manifests/env-literal.yaml")
