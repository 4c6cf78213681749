# expect: k8s-env-no-literal-credentials
# style: typed
# lab: no
# why: DATABASE_URL holding a password
"""Policy corpus case (see tests/policy_corpus/README.md)."""

from corpus_support import APP_IMAGE, container, deployment

deployment(
    "app",
    container(
        "app", APP_IMAGE, env=[{"name": "DATABASE_URL", "value": "postgresql://app:hunter2@db.apps.svc:5432/app"}]
    ),
)
