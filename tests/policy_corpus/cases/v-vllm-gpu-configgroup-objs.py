# expect: vllm-gpu-memory-utilization-range
# style: configgroup-objs
# lab: no
# why: vllm-gpu as a ConfigGroup object
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigGroup(
    "vllm-gpu",
    objs=[
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "llm", "namespace": "apps"},
            "spec": {
                "selector": {"matchLabels": {"app": "llm"}},
                "template": {
                    "metadata": {"labels": {"app": "llm"}},
                    "spec": {
                        "containers": [
                            {
                                "name": "server",
                                "image": "registry.example.com/ml/serving:2.3",
                                "resources": {
                                    "requests": {"cpu": "100m", "memory": "128Mi"},
                                    "limits": {"cpu": "1", "memory": "1Gi"},
                                },
                                "readinessProbe": {"httpGet": {"path": "/health", "port": 8000}},
                                "livenessProbe": {"httpGet": {"path": "/health", "port": 8000}},
                                "command": ["python3", "-m", "vllm.entrypoints.openai.api_server"],
                                "args": ["--model", "Qwen/Qwen2.5-3B-Instruct", "--gpu_memory_utilization=1.0"],
                            }
                        ]
                    },
                },
            },
        }
    ],
)
