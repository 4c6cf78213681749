"""Langfuse: LLM observability (traces, prompts, evaluations). Minimal interface; being built out."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pulumi
from pydantic import BaseModel, ConfigDict

import config
from components._k8s import TOKEN_PREFIX, ServiceRef


@dataclass(frozen=True)
class LangfuseEndpoints:
    web: ServiceRef
    """Langfuse web (UI, public API, OTLP ingestion under ``/api/public/otel``)."""


def endpoints(cfg: config.StackConfig) -> LangfuseEndpoints:
    return LangfuseEndpoints(web=ServiceRef("langfuse-web", cfg.namespaces.langfuse, 3000, "http"))


@dataclass(frozen=True)
class LangfuseConnection:
    """What a client needs to send to Langfuse: its web Service and the project's API keys."""

    web: ServiceRef
    public_key: pulumi.Output[str]
    secret_key: pulumi.Output[str]

    def otlp_auth_header(self) -> pulumi.Output[str]:
        """``Authorization`` header value for Langfuse's OTLP endpoint (Basic pk:sk), secret."""
        token = pulumi.Output.all(self.public_key, self.secret_key).apply(
            lambda keys: base64.b64encode(f"{keys[0]}:{keys[1]}".encode()).decode()
        )
        return pulumi.Output.secret(token.apply(lambda t: f"Basic {t}"))


class LangfuseArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    config: config.StackConfig
    namespace: pulumi.Input[str]


class Langfuse(pulumi.ComponentResource):
    endpoints: LangfuseEndpoints
    connection: LangfuseConnection
    admin_credentials: pulumi.Output[dict]

    def __init__(self, name: str, args: LangfuseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TOKEN_PREFIX}:langfuse:Langfuse", name, None, opts)
        self.endpoints = endpoints(args.config)
        self.connection = LangfuseConnection(
            web=self.endpoints.web,
            public_key=pulumi.Output.from_input("pk-lf-pending"),
            secret_key=pulumi.Output.secret("sk-lf-pending"),
        )
        self.admin_credentials = pulumi.Output.secret({})
        self.register_outputs({})
