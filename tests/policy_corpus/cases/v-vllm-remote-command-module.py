# expect: vllm-kubernetes-only
# style: command
# lab: yes
# why: remote Command starts python -m vllm.entrypoints
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import *  # noqa: F403

import pulumi_command as command
command.remote.Command("vllm", connection={"host": "gpu-box.example.com", "user": "ops"},
    create="cd /srv && python3 -m vllm.entrypoints.openai.api_server --model m")
