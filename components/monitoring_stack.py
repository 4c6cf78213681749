"""MonitoringStack: kube-prometheus-stack (Prometheus, Alertmanager, Grafana). Minimal interface; being built out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
from pydantic import BaseModel, ConfigDict

import config
from components._k8s import TOKEN_PREFIX, ServiceRef
from components.charts import helm_chart

if TYPE_CHECKING:
    from components.logging_stack import LoggingEndpoints
    from components.tracing_pipeline import TracingEndpoints
else:  # until those modules land (temporary)
    LoggingEndpoints = TracingEndpoints = Any

FULLNAME = "kps"
"""kube-prometheus-stack ``fullnameOverride``: Services are ``kps-prometheus`` and ``kps-alertmanager``."""
GRAFANA_FULLNAME = "grafana"


@dataclass(frozen=True)
class MonitoringEndpoints:
    prometheus: ServiceRef
    """Prometheus HTTP API (also the remote-write receiver, ``/api/v1/write``)."""
    grafana: ServiceRef
    """Grafana UI."""
    alertmanager: ServiceRef
    """Alertmanager API."""


def endpoints(cfg: config.StackConfig) -> MonitoringEndpoints:
    ns = cfg.namespaces.monitoring
    return MonitoringEndpoints(
        prometheus=ServiceRef(f"{FULLNAME}-prometheus", ns, 9090, "http"),
        grafana=ServiceRef(GRAFANA_FULLNAME, ns, 80, "http"),
        alertmanager=ServiceRef(f"{FULLNAME}-alertmanager", ns, 9093, "http"),
    )


class MonitoringStackArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    config: config.StackConfig
    secrets: config.Secrets
    namespace: pulumi.Input[str]
    tracing: TracingEndpoints
    logging: LoggingEndpoints | None = None


class MonitoringStack(pulumi.ComponentResource):
    endpoints: MonitoringEndpoints
    crds: pulumi.Resource
    grafana_admin_password: pulumi.Output[str]

    def __init__(self, name: str, args: MonitoringStackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TOKEN_PREFIX}:monitoring:MonitoringStack", name, None, opts)
        cfg = args.config
        self.endpoints = endpoints(cfg)
        self.crds = helm_chart(
            f"{name}-kps",
            cfg.versions.chart("kube-prometheus-stack"),
            cfg.charts,
            namespace=args.namespace,
            values={"fullnameOverride": FULLNAME, "grafana": {"fullnameOverride": GRAFANA_FULLNAME}},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.grafana_admin_password = pulumi.Output.secret("pending")
        self.register_outputs({})
