# expect: vllm-gpu-memory-utilization-range
# style: typed
# lab: no
# why: the underscore spelling with =
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import *  # noqa: F403

deployment("vllm", container("vllm", VLLM_IMAGE, args=["--model", "m", "--gpu_memory_utilization=1.2"]))
