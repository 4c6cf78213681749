# expect: pass
# style: configgroup-objs
# lab: no
# why: a Secret in a ConfigGroup built from a Pulumi secret
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import corpus_secret

k8s.yaml.v2.ConfigGroup(
    "db",
    objs=[
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db", "namespace": "apps"},
            "stringData": {"password": corpus_secret(), "host": "db.apps.svc"},
        }
    ],
)
