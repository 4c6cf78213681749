# expect: k8s-ingress-disallowed
# style: yaml-v1
# lab: no
# why: ingress through the older yaml.ConfigGroup (SDK invokes kubernetes:yaml:decode)
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.ConfigGroup(
    "ingress",
    yaml=[
        r"""
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: apps
spec:
  rules:
  - host: web.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web
            port:
              number: 80
"""
    ],
)
