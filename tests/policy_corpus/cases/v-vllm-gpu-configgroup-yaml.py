# expect: vllm-gpu-memory-utilization-range
# style: configgroup-yaml
# lab: yes
# why: vllm-gpu as inline YAML
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigGroup(
    "vllm-gpu",
    yaml=r"""
apiVersion: apps/v1
kind: Deployment
metadata:
  name: llm
  namespace: apps
spec:
  selector:
    matchLabels: &id001
      app: llm
  template:
    metadata:
      labels: *id001
    spec:
      containers:
      - name: server
        image: registry.example.com/ml/serving:2.3
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
        command:
        - python3
        - -m
        - vllm.entrypoints.openai.api_server
        args:
        - --model
        - Qwen/Qwen2.5-3B-Instruct
        - --gpu_memory_utilization=1.0
""",
)
