# expect: istio-routing-resources-disallowed
# style: configgroup-yaml
# lab: no
# why: virtualservice as inline YAML
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import *  # noqa: F403

k8s.yaml.v2.ConfigGroup("virtualservice", yaml=r"""
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
""")
