"""LiteLLM proxy: one OpenAI-compatible front for every engine. Minimal interface; being built out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi
from pydantic import BaseModel, ConfigDict

import config
from components._k8s import TOKEN_PREFIX, ServiceRef
from components.langfuse import LangfuseConnection
from components.serving import EngineEndpoint

if TYPE_CHECKING:
    from components.tracing_pipeline import TracingEndpoints


class LiteLlmArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    config: config.StackConfig
    secrets: config.Secrets
    namespace: pulumi.Input[str]
    engines: list[EngineEndpoint]
    tracing: Any  # TracingEndpoints
    langfuse: LangfuseConnection | None = None
    monitoring_crds: pulumi.Resource | None = None


class LiteLlm(pulumi.ComponentResource):
    endpoint: ServiceRef
    master_key: pulumi.Output[str]

    def __init__(self, name: str, args: LiteLlmArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TOKEN_PREFIX}:litellm:LiteLlm", name, None, opts)
        self.endpoint = ServiceRef("litellm", args.config.namespaces.litellm, 4000, "http")
        self.master_key = args.secrets.get("litellmMasterKey") or pulumi.Output.secret("sk-pending")
        self.register_outputs({})


__all__ = ["LiteLlm", "LiteLlmArgs", "TracingEndpoints"]
