# expect: vllm-kubernetes-only
# style: command
# lab: yes
# why: local Command runs vllm serve on the host
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import *  # noqa: F403

import pulumi_command as command
command.local.Command("vllm", create="nohup vllm serve Qwen/Qwen2.5-3B-Instruct --port 8000 &")
