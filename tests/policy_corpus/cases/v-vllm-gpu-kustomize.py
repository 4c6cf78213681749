# expect: vllm-gpu-memory-utilization-range
# style: kustomize
# lab: no
# why: vllm-gpu from a kustomization
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_kubernetes as k8s

k8s.kustomize.v2.Directory("vllm-gpu", directory="assets/kustomize/vllm-gpu")
