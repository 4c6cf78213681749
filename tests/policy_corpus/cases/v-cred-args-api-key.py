# expect: no-credential-literals
# style: typed
# lab: no
# why: --api-key passed a literal on the command line
"""Policy corpus case (see tests/policy_corpus/README.md)."""

from corpus_support import VLLM_IMAGE, container, deployment

deployment("vllm", container("vllm", VLLM_IMAGE, args=["--model", "m", "--api-key", "local-dev-key"]))
