# expect: vllm-kubernetes-only
# style: docker
# lab: no
# why: a Docker container whose command is vllm serve
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi

pulumi.CustomResource(
    "docker:index/container:Container", "llm", {"image": "python:3.12", "command": ["vllm", "serve", "m"]}
)
