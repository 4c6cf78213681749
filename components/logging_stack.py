"""LoggingStack: Loki and Grafana Alloy (minimal interface; being built out)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pydantic import BaseModel, ConfigDict

import config
from components._k8s import TOKEN_PREFIX, ServiceRef

LOKI_FULLNAME = "loki"


@dataclass(frozen=True)
class LoggingEndpoints:
    loki: ServiceRef
    """Loki's HTTP API: push (Alloy) and query (Grafana)."""


def endpoints(cfg: config.StackConfig) -> LoggingEndpoints:
    return LoggingEndpoints(loki=ServiceRef(LOKI_FULLNAME, cfg.namespaces.logging, 3100, "http"))


class LoggingStackArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    config: config.StackConfig
    namespace: pulumi.Output[str] | str


class LoggingStack(pulumi.ComponentResource):
    endpoints: LoggingEndpoints

    def __init__(self, name: str, args: LoggingStackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TOKEN_PREFIX}:logging_stack:LoggingStack", name, None, opts)
        self.endpoints = endpoints(args.config)
        self.register_outputs({})
