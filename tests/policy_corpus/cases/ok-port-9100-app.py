# expect: pass
# style: typed
# lab: no
# why: an ordinary app on port 9100 without hostNetwork, injected namespace
"""Policy corpus case (see tests/policy_corpus/README.md)."""

from corpus_support import APP_IMAGE, container, deployment, injected_namespace

injected_namespace()
deployment("exporter", container("exporter", APP_IMAGE, ports=[{"containerPort": 9100}]), namespace="monitoring")
