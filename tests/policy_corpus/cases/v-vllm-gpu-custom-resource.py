# expect: vllm-gpu-memory-utilization-range
# style: custom-resource
# lab: no
# why: a StatefulSet through apiextensions.CustomResource
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import VLLM_IMAGE, container

labels = {"app": "vllm"}
k8s.apiextensions.CustomResource(
    "vllm",
    api_version="apps/v1",
    kind="StatefulSet",
    metadata={"name": "vllm", "namespace": "apps"},
    spec={
        "serviceName": "vllm",
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [container("vllm", VLLM_IMAGE, args=["--gpu-memory-utilization=1.0"])]},
        },
    },
)
