# expect: pass
# style: typed
# lab: no
# why: $(VAR) expanding to 0.9
"""Policy corpus case (see tests/policy_corpus/README.md)."""

from corpus_support import VLLM_IMAGE, container, deployment

deployment(
    "vllm",
    container(
        "vllm", VLLM_IMAGE, args=["--gpu-memory-utilization", "$(GPU_UTIL)"], env=[{"name": "GPU_UTIL", "value": "0.9"}]
    ),
)
