# expect: vllm-gpu-memory-utilization-range
# style: helm-v3-release
# lab: yes
# why: Release values pass the flag in an args list
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import VLLM_IMAGE, WEBAPP_CHART

k8s.helm.v3.Release(
    "vllm",
    chart=WEBAPP_CHART,
    namespace="apps",
    values={"image": VLLM_IMAGE, "args": ["--model", "m", "--gpu_memory_utilization", "1.0"]},
)
