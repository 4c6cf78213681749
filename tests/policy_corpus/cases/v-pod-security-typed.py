# expect: pod-security-level
# style: typed
# lab: yes
# why: a container that may escalate privileges in a restricted namespace
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import APP_IMAGE, container, deployment

k8s.core.v1.Namespace(
    "secure-apps", metadata={"name": "secure-apps", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}
)
deployment("escalating-app", container("app", APP_IMAGE), namespace="secure-apps")
