# expect: k8s-secret-no-literal-data
# style: configgroup-objs
# lab: yes
# why: secret as a ConfigGroup object
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigGroup(
    "secret",
    objs=[
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db", "namespace": "apps"},
            "stringData": {"username": "app", "password": "hunter2"},
        }
    ],
)
