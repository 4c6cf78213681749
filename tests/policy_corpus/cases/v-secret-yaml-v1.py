# expect: k8s-secret-no-literal-data
# style: yaml-v1
# lab: no
# why: secret through the older yaml.ConfigGroup (SDK invokes kubernetes:yaml:decode)
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.ConfigGroup(
    "secret",
    yaml=[
        r"""
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: apps
stringData:
  username: app
  password: hunter2
"""
    ],
)
