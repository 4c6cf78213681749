# expect: pass
# style: typed
# lab: no
# why: a non-vLLM server with a flag of the same name
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import *  # noqa: F403

deployment("trainer", container("trainer", APP_IMAGE, args=["python", "train.py", "--gpu-memory-utilization", "1.0"]))
