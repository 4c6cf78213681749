# expect: vllm-kubernetes-only
# style: command
# lab: no
# why: podman run in the update script, image named otherwise
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_command as command

command.local.Command(
    "llm",
    create="echo prepared",
    update="podman run -d --device nvidia.com/gpu=all registry.example.com/vllm-cuda:0.10 serve m",
)
