# expect: pod-security-level
# style: configgroup-yaml
# lab: no
# why: a root container in a restricted namespace, as inline YAML
"""Policy corpus case (see tests/policy_corpus/README.md)."""

from pathlib import Path

import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigGroup("root-app", yaml=Path("assets/manifests/root-app.yaml").read_text())
