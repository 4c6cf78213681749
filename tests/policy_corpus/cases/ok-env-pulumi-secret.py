# expect: pass
# style: typed
# lab: no
# why: an env value from a Pulumi secret
"""Policy corpus case (see tests/policy_corpus/README.md)."""

from corpus_support import APP_IMAGE, container, corpus_secret, deployment

deployment("app", container("app", APP_IMAGE, env=[{"name": "API_TOKEN", "value": corpus_secret()}]))
