# expect: pass
# style: typed
# lab: no
# why: underscore spelling at 0.8
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import *  # noqa: F403

deployment("vllm", container("vllm", VLLM_IMAGE, args=["--gpu_memory_utilization=0.8"]))
