# expect: vllm-gpu-memory-utilization-range
# style: typed
# lab: yes
# why: $(VAR) expanded by the kubelet from the container env
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import *  # noqa: F403

deployment("vllm", container("vllm", VLLM_IMAGE, args=["--gpu-memory-utilization", "$(GPU_UTIL)"],
    env=[{"name": "GPU_UTIL", "value": "1.5"}]))
