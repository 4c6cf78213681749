# expect: pass
# style: typed
# lab: no
# why: an ordinary app on port 9100 without hostNetwork, injected namespace
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi
import pulumi_kubernetes as k8s
from corpus_support import *  # noqa: F403

injected_namespace()
deployment("exporter", container("exporter", APP_IMAGE, ports=[{"containerPort": 9100}]), namespace="monitoring")
