# expect: istiod-requires-gateway-api-crds
# style: configgroup-yaml
# lab: yes
# why: istiod as inline YAML
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigGroup(
    "istiod",
    yaml=r"""
apiVersion: apps/v1
kind: Deployment
metadata:
  name: istiod
  namespace: istio-system
spec:
  selector:
    matchLabels: &id001
      app: istiod
  template:
    metadata:
      labels: *id001
    spec:
      containers:
      - name: discovery
        image: docker.io/istio/pilot:1.30.3
        resources:
          requests:
            cpu: 100m
            memory: 128Mi
          limits:
            cpu: '1'
            memory: 1Gi
        readinessProbe: &id002
          httpGet:
            path: /health
            port: 8000
        livenessProbe: *id002
        args:
        - discovery
        - --monitoringAddr=:15014
""",
)
