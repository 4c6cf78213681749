# expect: no-credential-literals
# style: configgroup-yaml
# lab: no
# why: configmap-password as inline YAML
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigGroup(
    "configmap-password",
    yaml=r"""
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
  namespace: apps
data:
  settings.yaml: "database:\n  host: db.apps.svc\n  password: hunter2\n"
""",
)
