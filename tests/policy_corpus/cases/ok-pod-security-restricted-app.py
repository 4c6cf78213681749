# expect: pass
# style: typed
# lab: yes
# why: a container meeting every restricted field in a restricted namespace
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import APP_IMAGE, container, deployment

RESTRICTED = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "allowPrivilegeEscalation": False,
    "seccompProfile": {"type": "RuntimeDefault"},
    "capabilities": {"drop": ["ALL"]},
}
k8s.core.v1.Namespace(
    "secure-apps", metadata={"name": "secure-apps", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}
)
deployment("careful-app", container("app", APP_IMAGE, securityContext=RESTRICTED), namespace="secure-apps")
