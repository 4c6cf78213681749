# expect: k8s-secret-no-literal-data
# style: configgroup-yaml
# lab: no
# why: secret as inline YAML
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigGroup(
    "secret",
    yaml=r"""
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: apps
stringData:
  username: app
  password: hunter2
""",
)
