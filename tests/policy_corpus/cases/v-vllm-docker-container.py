# expect: vllm-kubernetes-only
# style: docker
# lab: no
# why: a Docker provider container running vLLM
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
from corpus_support import VLLM_IMAGE

pulumi.CustomResource("docker:index/container:Container", "vllm", {"image": VLLM_IMAGE, "name": "vllm"})
