# expect: pass
# style: typed
# lab: no
# why: URLs with a user but no password
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import *  # noqa: F403

k8s.core.v1.ConfigMap("app", metadata={"name": "app", "namespace": "apps"},
    data={"db": "postgresql://app@db.apps.svc:5432/app", "webhookSecret": "alertmanager-slack"})
