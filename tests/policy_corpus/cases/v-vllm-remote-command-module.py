# expect: vllm-kubernetes-only
# style: command
# lab: yes
# why: remote Command starts python -m vllm.entrypoints
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_command as command

command.remote.Command(
    "vllm",
    connection={"host": "gpu-box.example.com", "user": "ops"},
    create="cd /srv && python3 -m vllm.entrypoints.openai.api_server --model m",
)
