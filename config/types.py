"""Value types and shared fragments of the stack configuration, each with the rule and the fix in its error.

Quantities are parsed by ``quantities.py`` (the one Kubernetes quantity parser of the repository).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel

import quantities

PROJECT = "llm-tracing-infra"

# ---------------------------------------------------------------------------------------------
# Value types with the rule and the fix in their error messages
# ---------------------------------------------------------------------------------------------

_QUANTITY = re.compile(r"^([0-9]+(\.[0-9]+)?|\.[0-9]+)([eE][+-]?[0-9]+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SEMVER = re.compile(r"^v?[0-9]+\.[0-9]+\.[0-9]+$")
_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:-]*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def _quantity(value: str) -> str:
    if not _QUANTITY.match(value):
        raise ValueError(
            "a Kubernetes quantity such as 50Gi, 512Mi, 500m or 5e9 (binary units are Ki/Mi/Gi, not Gb)"
        )
    if quantities.parse(value) <= 0:
        raise ValueError("a positive Kubernetes quantity: a size or share of 0 leaves nothing to run with")
    return value


def _duration(value: str) -> str:
    if not _DURATION.match(value):
        raise ValueError("a duration such as 30s, 5m, 48h or 15d")
    return value


def _dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise ValueError("a DNS label: lower-case letters, digits and '-', at most 63 characters, e.g. 'tracing'")
    return value


def _dns_name(value: str) -> str:
    labels = value.split(".")
    if len(value) > 253 or not all(len(x) <= 63 and _DNS_LABEL.match(x) for x in labels):
        raise ValueError("a DNS name: dot-separated lower-case labels, e.g. 'local' or 'lab.example.com'")
    return value


def _semver(value: str) -> str:
    if not _SEMVER.match(value):
        raise ValueError("an exact version such as 1.30.3 or v1.5.1 (no ranges, no 'latest')")
    return value


def _image(value: str) -> str:
    if not _IMAGE.match(value) or value.endswith((":latest", ":main", ":nightly")):
        raise ValueError("an image pinned to a version tag, e.g. vllm/vllm-openai:v0.11.0 (never :latest)")
    return value


def _cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError("a network in CIDR form, e.g. 10.0.0.0/8 or 192.168.1.0/24") from None
    return value


def _mebibytes(quantity: str) -> float | None:
    """A valid quantity in MiB (None if it is not one: its own field reports that)."""
    try:
        return quantities.parse(quantity) / 2**20
    except ValueError:
        return None


Quantity = Annotated[str, AfterValidator(_quantity)]
Duration = Annotated[str, AfterValidator(_duration)]
DnsLabel = Annotated[str, AfterValidator(_dns_label)]
DnsName = Annotated[str, AfterValidator(_dns_name)]
Version = Annotated[str, AfterValidator(_semver)]
Image = Annotated[str, AfterValidator(_image)]
Cidr = Annotated[str, AfterValidator(_cidr)]
NamespaceKey = Literal["tracing", "monitoring", "llm", "litellm", "langfuse", "logging"]
MtlsMode = Literal["PERMISSIVE", "STRICT", "DISABLE"]
Engine = Literal["vllm", "mock", "sglang"]


class _Model(BaseModel):
    # allow_inf_nan=False: an 'inf' threshold or ratio could never be crossed (or always is).
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True, allow_inf_nan=False
    )


# ---------------------------------------------------------------------------------------------
# Shared fragments
# ---------------------------------------------------------------------------------------------


class ResourceAmounts(_Model):
    cpu: Quantity
    memory: Quantity


class Resources(_Model):
    """Container requests and limits (Kubernetes quantities); a request above its limit is refused."""

    requests: ResourceAmounts
    limits: ResourceAmounts

    @model_validator(mode="after")
    def _requests_within_limits(self) -> Resources:
        for kind in ("cpu", "memory"):
            request, limit = getattr(self.requests, kind), getattr(self.limits, kind)
            if quantities.parse(request) > quantities.parse(limit):
                raise ValueError(
                    f"requests.{kind} {request} is above limits.{kind} {limit}; Kubernetes refuses a request "
                    f"above its limit: raise the limit or lower the request"
                )
        return self

    def as_k8s(self) -> dict[str, dict[str, str]]:
        return {
            "requests": {"cpu": self.requests.cpu, "memory": self.requests.memory},
            "limits": {"cpu": self.limits.cpu, "memory": self.limits.memory},
        }


def resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> Resources:
    return Resources(
        requests=ResourceAmounts(cpu=cpu, memory=memory), limits=ResourceAmounts(cpu=cpu_limit, memory=memory_limit)
    )


class Toleration(_Model):
    key: str
    operator: Literal["Exists", "Equal"] = "Exists"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None

