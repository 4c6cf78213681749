# expect: pass
# style: command
# lab: no
# why: pulling the vLLM image is not running it
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_command as command

command.local.Command("pull", create="docker pull vllm/vllm-openai:v0.10.1")
