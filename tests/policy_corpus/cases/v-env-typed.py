# expect: k8s-env-no-literal-credentials
# style: typed
# lab: yes
# why: HF_TOKEN as a literal env value
"""Policy corpus case (see tests/policy_corpus/README.md)."""

from corpus_support import APP_IMAGE, container, deployment

deployment("app", container("app", APP_IMAGE, env=[{"name": "HF_TOKEN", "value": "abc"}]))
