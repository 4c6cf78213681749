# expect: vllm-kubernetes-only
# style: docker
# lab: no
# why: a Docker container whose command is vllm serve
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import *  # noqa: F403

pulumi.CustomResource("docker:index/container:Container", "llm", {"image": "python:3.12", "command": ["vllm", "serve", "m"]})
