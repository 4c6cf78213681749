# expect: pass
# style: typed
# lab: no
# why: api_key EMPTY and os.environ references in a config file
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.core.v1.ConfigMap(
    "litellm",
    metadata={"name": "litellm", "namespace": "apps"},
    data={
        "config.yaml": (
            "model_list:\n- litellm_params: {api_key: EMPTY}\n"
            "general_settings: {master_key: os.environ/LITELLM_MASTER_KEY}\n"
        )
    },
)
