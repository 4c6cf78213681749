# expect: istio-routing-resources-disallowed
# style: yaml-v1
# lab: no
# why: virtualservice through the older yaml.ConfigGroup (SDK invokes kubernetes:yaml:decode)
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.ConfigGroup(
    "virtualservice",
    yaml=[
        r"""
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
"""
    ],
)
