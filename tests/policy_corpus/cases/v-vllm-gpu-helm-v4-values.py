# expect: vllm-gpu-memory-utilization-range
# style: helm-v4
# lab: yes
# why: chart values gpuMemoryUtilization 1.2
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART

k8s.helm.v4.Chart("vllm", chart=WEBAPP_CHART, namespace="apps", values={"vllm": {"gpuMemoryUtilization": 1.2}})
