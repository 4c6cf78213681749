# expect: pod-security-level
# style: configgroup-objs
# lab: no
# why: a root container in a restricted namespace, as objects
"""Policy corpus case (see tests/policy_corpus/README.md)."""

from pathlib import Path

import pulumi_kubernetes as k8s
import yaml

k8s.yaml.v2.ConfigGroup("root-app", objs=list(yaml.safe_load_all(Path("assets/manifests/root-app.yaml").read_text())))
