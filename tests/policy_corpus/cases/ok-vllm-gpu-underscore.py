# expect: pass
# style: typed
# lab: no
# why: underscore spelling at 0.8
"""Policy corpus case (see tests/policy_corpus/README.md)."""

from corpus_support import VLLM_IMAGE, container, deployment

deployment("vllm", container("vllm", VLLM_IMAGE, args=["--gpu_memory_utilization=0.8"]))
