# expect: vllm-gpu-memory-utilization-range
# style: typed
# lab: yes
# why: image name does not say vllm, command is vllm serve
"""Policy corpus case (see tests/policy_corpus/README.md)."""

from corpus_support import container, deployment

deployment(
    "llm",
    container(
        "llm",
        "registry.example.com/ml/serving:2.3",
        command=["vllm", "serve", "m"],
        args=["--gpu-memory-utilization", "0"],
    ),
)
