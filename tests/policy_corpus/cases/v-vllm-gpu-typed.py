# expect: vllm-gpu-memory-utilization-range
# style: typed
# lab: no
# why: vLLM image, --gpu-memory-utilization 1.0
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import *  # noqa: F403

deployment("vllm", container("vllm", VLLM_IMAGE, args=["--model", "m", "--gpu-memory-utilization", "1.0"]))
