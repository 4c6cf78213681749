# expect: no-credential-literals
# style: helm-v4
# lab: no
# lab-note: slipped under the real CLI in the lab on 2026-12-02 (the pack saw no violation on the
#   helm.v4.Chart component); offline it is blocked. Left out of the real-CLI subset until explained (issue 17).
# why: a chart's adminPassword as a plain string
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import WEBAPP_CHART

k8s.helm.v4.Chart("grafana", chart=WEBAPP_CHART, namespace="apps", values={"grafana": {"adminPassword": "grafana123"}})
