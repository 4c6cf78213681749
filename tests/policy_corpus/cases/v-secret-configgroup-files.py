# expect: k8s-secret-no-literal-data
# style: configgroup-files
# lab: no
# why: a Secret from ConfigGroup files=[...]
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import *  # noqa: F403

k8s.yaml.v2.ConfigGroup("db", files=["assets/manifests/secret.yaml"])
