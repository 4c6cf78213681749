# expect: vllm-gpu-memory-utilization-range
# style: typed
# lab: no
# why: a CronJob whose init container warms vLLM at 1.0
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import APP_IMAGE, VLLM_IMAGE, container

k8s.batch.v1.CronJob(
    "warm",
    metadata={"name": "warm", "namespace": "apps"},
    spec={
        "schedule": "0 * * * *",
        "jobTemplate": {
            "spec": {
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "initContainers": [container("warm", VLLM_IMAGE, args=["--gpu-memory-utilization=1.0"])],
                        "containers": [container("done", APP_IMAGE)],
                    }
                }
            }
        },
    },
)
