# expect: vllm-gpu-memory-utilization-range
# style: typed
# lab: yes
# why: image name does not say vllm, command is vllm serve
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import *  # noqa: F403

deployment("llm", container("llm", "registry.example.com/ml/serving:2.3", command=["vllm", "serve", "m"],
    args=["--gpu-memory-utilization", "0"]))
