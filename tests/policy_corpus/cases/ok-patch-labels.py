# expect: pass
# style: patch
# lab: no
# why: a DeploymentPatch that only adds labels
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.apps.v1.DeploymentPatch("app", metadata={"name": "app", "namespace": "apps", "labels": {"team": "ml"}})
