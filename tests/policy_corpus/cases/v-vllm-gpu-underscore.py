# expect: vllm-gpu-memory-utilization-range
# style: typed
# lab: no
# why: the underscore spelling with =
"""Policy corpus case (see tests/policy_corpus/README.md)."""

from corpus_support import VLLM_IMAGE, container, deployment

deployment("vllm", container("vllm", VLLM_IMAGE, args=["--model", "m", "--gpu_memory_utilization=1.2"]))
