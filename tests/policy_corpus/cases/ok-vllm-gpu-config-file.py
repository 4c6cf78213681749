# expect: pass
# style: typed
# lab: no
# why: a vLLM config file at 0.9
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.core.v1.ConfigMap(
    "vllm-config",
    metadata={"name": "vllm-config", "namespace": "apps"},
    data={"config.yaml": "model: m\ngpu_memory_utilization: 0.9\n"},
)
