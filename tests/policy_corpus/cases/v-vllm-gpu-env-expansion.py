# expect: vllm-gpu-memory-utilization-range
# style: typed
# lab: yes
# why: $(VAR) expanded by the kubelet from the container env
"""Policy corpus case (see tests/policy_corpus/README.md)."""

from corpus_support import VLLM_IMAGE, container, deployment

deployment(
    "vllm",
    container(
        "vllm", VLLM_IMAGE, args=["--gpu-memory-utilization", "$(GPU_UTIL)"], env=[{"name": "GPU_UTIL", "value": "1.5"}]
    ),
)
