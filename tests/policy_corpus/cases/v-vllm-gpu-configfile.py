# expect: vllm-gpu-memory-utilization-range
# style: configfile
# lab: no
# why: vllm-gpu from a manifest file
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.yaml.v2.ConfigFile("vllm-gpu", file="assets/manifests/vllm-gpu.yaml")
