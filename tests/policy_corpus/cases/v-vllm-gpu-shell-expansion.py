# expect: vllm-gpu-memory-utilization-range
# style: typed
# lab: no
# why: sh -c with ${VAR} resolving to 1.0
"""Policy corpus case (see tests/policy_corpus/README.md)."""

from corpus_support import VLLM_IMAGE, container, deployment

deployment(
    "vllm",
    container(
        "vllm",
        VLLM_IMAGE,
        command=["sh", "-c"],
        args=["exec vllm serve m --gpu-memory-utilization ${UTIL}"],
        env=[{"name": "UTIL", "value": "1.0"}],
    ),
)
