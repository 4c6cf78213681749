# expect: vllm-gpu-memory-utilization-range
# style: typed
# lab: no
# why: vLLM image, --gpu-memory-utilization 1.0
"""Policy corpus case (see tests/policy_corpus/README.md)."""

from corpus_support import VLLM_IMAGE, container, deployment

deployment("vllm", container("vllm", VLLM_IMAGE, args=["--model", "m", "--gpu-memory-utilization", "1.0"]))
