# expect: pass
# style: typed
# lab: no
# why: an env value from a Pulumi secret
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import *  # noqa: F403

deployment("app", container("app", APP_IMAGE, env=[{"name": "API_TOKEN", "value": corpus_secret()}]))
