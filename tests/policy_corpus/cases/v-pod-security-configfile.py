# expect: pod-security-level
# style: configfile
# lab: yes
# why: a root container in a restricted namespace, from a manifest file
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigFile("root-app", file="assets/manifests/root-app.yaml")
