# expect: pass
# style: yaml-v1
# lab: no
# why: the older yaml.ConfigGroup with an ordinary ConfigMap
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.ConfigGroup(
    "cm", yaml=["apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain, namespace: apps}\ndata: {LOG_LEVEL: info}\n"]
)
