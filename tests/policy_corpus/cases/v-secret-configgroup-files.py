# expect: k8s-secret-no-literal-data
# style: configgroup-files
# lab: no
# why: a Secret from ConfigGroup files=[...]
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigGroup("db", files=["assets/manifests/secret.yaml"])
