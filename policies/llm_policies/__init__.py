"""The llm-tracing-infra policy pack: one module per policy, registered here in report order.

Imported both by ``policies/__main__.py`` (``pulumi preview --policy-pack policies``) and by the
offline preview (``llm_policies.offline``), so both run the very same validators. Nothing here
imports from the project root: under the CLI only ``policies/`` is on ``sys.path``.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Policy

from llm_policies import (
    container_resources,
    credential_literals,
    env_literal_credentials,
    image_pinned,
    istiod_after_gateway_crds,
    no_ingress,
    no_istio_routing,
    no_load_balancer,
    node_exporter_no_sidecar,
    pod_security_level,
    pvc_retained,
    secret_literal_data,
    vllm_gpu_memory,
    vllm_kubernetes_only,
    workload_probes,
)

PACK_NAME = "llm-tracing-infra"
PACK_DEFAULT_LEVEL = EnforcementLevel.ADVISORY
"""Level of a policy that sets none (every policy here sets its own)."""

POLICIES: list[Policy] = [
    # Mandatory: the forbidden list.
    no_ingress.POLICY,
    no_istio_routing.POLICY,
    istiod_after_gateway_crds.POLICY,
    node_exporter_no_sidecar.POLICY,
    vllm_gpu_memory.POLICY,
    secret_literal_data.POLICY,
    env_literal_credentials.POLICY,
    credential_literals.POLICY,
    vllm_kubernetes_only.POLICY,
    pod_security_level.POLICY,
    # Advisory: platform hygiene.
    image_pinned.POLICY,
    container_resources.POLICY,
    workload_probes.POLICY,
    no_load_balancer.POLICY,
    pvc_retained.POLICY,
]
