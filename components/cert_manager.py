"""CertManager: cert-manager, installed once for whichever component needs certificates.

Consumers: the Gateway's HTTPS listener (its Certificate and ClusterIssuer) and Langfuse (the
ClickHouse operator's admission webhook takes its certificate from cert-manager). ``__main__``
installs it when any consumer is on, unless the cluster already runs one (``certManager.install``).
The component creates its own namespace, like every add-on that brings its own (see README, layout).

Until this component existed cert-manager was part of Langfuse; the aliases below let a stack
deployed then keep its cert-manager objects instead of replacing them.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict

import versions
from components import pod_security
from components._k8s import TOKEN_PREFIX, labels
from components.charts import helm_chart
from components.contracts import NamespaceRef
from config.sections import CertManager as CertManagerSettings
from config.sections import Charts

FORMER_PARENT = ("langfuse", f"{TOKEN_PREFIX}:langfuse:Langfuse")
"""Name and type of the Langfuse component that installed cert-manager before (it may no longer exist)."""


class CertManagerArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    settings: CertManagerSettings
    chart: versions.ChartPin
    charts: Charts
    """Where charts come from (``charts`` section)."""


class CertManager(pulumi.ComponentResource):
    chart: pulumi.Resource
    """The chart, CRDs and webhook included: Certificates, Issuers and cert-manager's clients wait for it."""
    namespace: NamespaceRef
    """cert-manager's namespace (NetworkPolicies go there)."""

    def __init__(self, name: str, args: CertManagerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TOKEN_PREFIX}:cert_manager:CertManager", name, None, opts)
        settings = args.settings
        former_parent = pulumi.create_urn(*FORMER_PARENT)
        amounts = settings.resources.as_k8s()
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": settings.namespace,
                "labels": {**labels("cert-manager"), **pod_security.namespace_labels("cert-manager")},
            },
            opts=pulumi.ResourceOptions(
                parent=self, aliases=[pulumi.Alias(name="langfuse-ns-cert-manager", parent=former_parent)]
            ),
        )
        self.namespace = NamespaceRef(settings.namespace, namespace.metadata.apply(lambda m: m["name"]))
        self.chart = helm_chart(
            f"{name}-chart",
            args.chart,
            args.charts,
            namespace=namespace.metadata.apply(lambda m: m["name"]),
            values={
                "crds": {"enabled": True, "keep": True},
                "resources": amounts,
                "webhook": {"resources": amounts},
                "cainjector": {"resources": amounts},
                # A Helm hook: helm.v4.Chart would not run it anyway.
                "startupapicheck": {"enabled": False},
            },
            opts=pulumi.ResourceOptions(
                parent=self, aliases=[pulumi.Alias(name="langfuse-cert-manager", parent=former_parent)]
            ),
        )
        self.register_outputs({})
