# expect: vllm-kubernetes-only
# style: command
# lab: no
# why: local Command docker-runs the vLLM image
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_command as command

command.local.Command("vllm", create="docker run -d --gpus all -p 8000:8000 vllm/vllm-openai:v0.10.1 --model m")
