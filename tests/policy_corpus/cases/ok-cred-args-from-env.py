# expect: pass
# style: typed
# lab: no
# why: --api-key from $(VAR) of a secretKeyRef env
"""Policy corpus case (see tests/policy_corpus/README.md)."""

from corpus_support import VLLM_IMAGE, container, deployment

deployment(
    "vllm",
    container(
        "vllm",
        VLLM_IMAGE,
        args=["--api-key", "$(VLLM_API_KEY)"],
        env=[{"name": "VLLM_API_KEY", "valueFrom": {"secretKeyRef": {"name": "vllm", "key": "key"}}}],
    ),
)
