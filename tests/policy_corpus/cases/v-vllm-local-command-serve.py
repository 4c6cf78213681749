# expect: vllm-kubernetes-only
# style: command
# lab: yes
# why: local Command runs vllm serve on the host
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_command as command

command.local.Command("vllm", create="nohup vllm serve Qwen/Qwen2.5-3B-Instruct --port 8000 &")
