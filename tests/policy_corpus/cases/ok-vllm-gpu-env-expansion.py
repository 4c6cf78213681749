# expect: pass
# style: typed
# lab: no
# why: $(VAR) expanding to 0.9
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import *  # noqa: F403

deployment("vllm", container("vllm", VLLM_IMAGE, args=["--gpu-memory-utilization", "$(GPU_UTIL)"],
    env=[{"name": "GPU_UTIL", "value": "0.9"}]))
