# expect: node-exporter-sidecar-opt-out
# style: configfile
# lab: yes
# why: node-exporter from a manifest file
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s
from corpus_support import injected_namespace

injected_namespace("monitoring")
k8s.yaml.v2.ConfigFile("node-exporter", file="assets/manifests/node-exporter.yaml")
