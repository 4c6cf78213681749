# expect: pass
# style: typed
# lab: yes
# why: sh -c ${VAR} resolving to 0.85 (a false positive before)
"""Policy corpus case (see tests/policy_corpus/README.md)."""

from corpus_support import VLLM_IMAGE, container, deployment

deployment(
    "vllm",
    container(
        "vllm",
        VLLM_IMAGE,
        command=["sh", "-c"],
        args=["exec vllm serve m --gpu-memory-utilization ${UTIL}"],
        env=[{"name": "UTIL", "value": "0.85"}],
    ),
)
