# expect: no-credential-literals
# style: typed
# lab: no
# why: an OpenAI-style key in args
"""Policy corpus case (see tests/policy_corpus/README.md)."""

from corpus_support import APP_IMAGE, container, deployment

deployment(
    "proxy", container("proxy", APP_IMAGE, args=["--upstream-key=" + "sk-proj-" + "Ab3De5Gh7Jk9Mn1Pq3St5Vx7Za9Ce1"])
)
