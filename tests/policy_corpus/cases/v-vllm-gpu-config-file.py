# expect: vllm-gpu-memory-utilization-range
# style: typed
# lab: yes
# why: a vLLM --config file from a ConfigMap
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import VLLM_IMAGE, container, deployment

k8s.core.v1.ConfigMap(
    "vllm-config",
    metadata={"name": "vllm-config", "namespace": "apps"},
    data={"config.yaml": "model: m\ngpu-memory-utilization: 1.0\n"},
)
deployment("vllm", container("vllm", VLLM_IMAGE, args=["--config", "/etc/vllm/config.yaml"]))
