# expect: istio-routing-resources-disallowed
# style: configgroup-yaml
# lab: no
# why: destinationrule as inline YAML
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigGroup(
    "destinationrule",
    yaml=r"""
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: web
  namespace: apps
spec:
  host: web.apps.svc.cluster.local
  subsets:
  - name: v1
    labels:
      version: v1
""",
)
