# expect: vllm-gpu-memory-utilization-range
# style: typed
# lab: no
# why: ${VAR} from a ConfigMap key cannot be resolved: fail closed
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import *  # noqa: F403

deployment("vllm", container("vllm", VLLM_IMAGE, command=["/bin/sh", "-c"],
    args=["vllm serve m --gpu-memory-utilization=${UTIL}"],
    env=[{"name": "UTIL", "valueFrom": {"configMapKeyRef": {"name": "tuning", "key": "util"}}}]))
