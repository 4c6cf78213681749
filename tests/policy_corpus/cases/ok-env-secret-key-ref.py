# expect: pass
# style: typed
# lab: yes
# why: credentials from secretKeyRef, a TOKENIZERS_ variable literal
"""Policy corpus case (see tests/policy_corpus/README.md)."""

from corpus_support import APP_IMAGE, container, deployment

deployment(
    "app",
    container(
        "app",
        APP_IMAGE,
        env=[
            {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf", "key": "token"}}},
            {"name": "TOKENIZERS_PARALLELISM", "value": "false"},
            {"name": "SECRET_NAME", "value": "hf"},
        ],
    ),
)
