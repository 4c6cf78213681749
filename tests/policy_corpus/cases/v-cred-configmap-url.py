# expect: no-credential-literals
# style: typed
# lab: no
# why: a ConfigMap URL with user:password@
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.core.v1.ConfigMap(
    "app", metadata={"name": "app", "namespace": "apps"}, data={"broker": "amqp://app:s3cret-pw@rabbit.apps.svc:5672/"}
)
