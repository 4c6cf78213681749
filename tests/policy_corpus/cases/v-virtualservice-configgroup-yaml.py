# expect: istio-routing-resources-disallowed
# style: configgroup-yaml
# lab: no
# why: virtualservice as inline YAML
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigGroup(
    "virtualservice",
    yaml=r"""
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: web
  namespace: apps
spec:
  hosts:
  - web.example.com
  http:
  - route:
    - destination:
        host: web
""",
)
