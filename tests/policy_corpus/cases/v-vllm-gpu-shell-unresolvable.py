# expect: vllm-gpu-memory-utilization-range
# style: typed
# lab: no
# why: ${VAR} from a ConfigMap key cannot be resolved: fail closed
"""Policy corpus case (see tests/policy_corpus/README.md)."""

from corpus_support import VLLM_IMAGE, container, deployment

deployment(
    "vllm",
    container(
        "vllm",
        VLLM_IMAGE,
        command=["/bin/sh", "-c"],
        args=["vllm serve m --gpu-memory-utilization=${UTIL}"],
        env=[{"name": "UTIL", "valueFrom": {"configMapKeyRef": {"name": "tuning", "key": "util"}}}],
    ),
)
