# expect: no-credential-literals
# style: typed
# lab: no
# why: --api-key passed a literal on the command line
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import *  # noqa: F403

deployment("vllm", container("vllm", VLLM_IMAGE, args=["--model", "m", "--api-key", "local-dev-key"]))
