"""GatewayRoutes: the one Gateway and the routes behind it (the only way into the platform)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pydantic import BaseModel, ConfigDict

from components._k8s import TOKEN_PREFIX, ServiceRef
from components.serving import EngineEndpoint
from config import StackConfig


@dataclass(frozen=True)
class Backends:
    """The Services routes point at, taken from the other components' outputs."""

    grafana: ServiceRef
    prometheus: ServiceRef
    tempo: ServiceRef
    otlp_grpc: ServiceRef
    otlp_http: ServiceRef
    engines: list[EngineEndpoint]
    langfuse: ServiceRef | None
    litellm: ServiceRef | None


class GatewayRoutesArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    config: StackConfig
    backends: Backends


class GatewayRoutes(pulumi.ComponentResource):
    hostnames: list[str]
    """Hostnames served by the Gateway."""
    etc_hosts_line: pulumi.Output[str]
    """The ``/etc/hosts`` line mapping every hostname to the gateway address."""
    address: pulumi.Output[str]
    """The gateway's external address."""

    def __init__(self, name: str, args: GatewayRoutesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TOKEN_PREFIX}:gateway_routes:GatewayRoutes", name, None, opts)
        domain = args.config.gateway.base_domain
        self.hostnames = [f"{h}.{domain}" for h in ("grafana", "prometheus", "tempo")]
        self.address = pulumi.Output.from_input("127.0.0.1")
        self.etc_hosts_line = self.address.apply(lambda a: f"{a} {' '.join(self.hostnames)}")
        self.register_outputs({"hostnames": self.hostnames, "address": self.address})
