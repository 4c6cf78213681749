# expect: pass
# style: typed
# lab: no
# why: a non-vLLM server with a flag of the same name
"""Policy corpus case (see tests/policy_corpus/README.md)."""

from corpus_support import APP_IMAGE, container, deployment

deployment("trainer", container("trainer", APP_IMAGE, args=["python", "train.py", "--gpu-memory-utilization", "1.0"]))
