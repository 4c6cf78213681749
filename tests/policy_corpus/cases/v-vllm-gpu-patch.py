# expect: vllm-gpu-memory-utilization-range
# style: patch
# lab: yes
# why: a DeploymentPatch raising the utilization to 1
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import VLLM_IMAGE

k8s.apps.v1.DeploymentPatch(
    "vllm",
    metadata={"name": "vllm", "namespace": "apps"},
    spec={
        "template": {
            "spec": {"containers": [{"name": "vllm", "image": VLLM_IMAGE, "args": ["--gpu-memory-utilization", "1"]}]}
        }
    },
)
