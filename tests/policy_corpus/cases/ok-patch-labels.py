# expect: pass
# style: patch
# lab: no
# why: a DeploymentPatch that only adds labels
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import *  # noqa: F403

k8s.apps.v1.DeploymentPatch("app", metadata={"name": "app", "namespace": "apps", "labels": {"team": "ml"}})
