# expect: pass
# style: typed
# lab: no
# why: api_key EMPTY and os.environ references in a config file
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import *  # noqa: F403

k8s.core.v1.ConfigMap("litellm", metadata={"name": "litellm", "namespace": "apps"}, data={"config.yaml":
    "model_list:\n- litellm_params: {api_key: EMPTY}\ngeneral_settings: {master_key: os.environ/LITELLM_MASTER_KEY}\n"})
