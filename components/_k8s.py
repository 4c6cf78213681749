"""Small Kubernetes helpers shared by the components: labels, service references, security."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TOKEN_PREFIX = "llm-tracing-infra"
"""Type tokens are ``llm-tracing-infra:<module>:<Type>``; treat them as a stable API."""


@dataclass(frozen=True)
class ServiceRef:
    """A Kubernetes Service port that one component exposes and others connect to.

    Components publish these as outputs; consumers build URLs from them instead of retyping
    service names, so the wiring checks can follow every link back to the Service it names.
    """

    name: str
    namespace: str
    port: int
    app_protocol: str | None = None

    @property
    def host(self) -> str:
        return f"{self.name}.{self.namespace}.svc.cluster.local"

    def url(self, scheme: str = "http", path: str = "") -> str:
        return f"{scheme}://{self.host}:{self.port}{path}"

    @property
    def authority(self) -> str:
        """``host:port``, the form gRPC clients and Istio's extension providers take."""
        return f"{self.host}:{self.port}"


def labels(app: str, component: str | None = None, *, part_of: str = "llm-tracing-infra") -> dict[str, str]:
    """Recommended ``app.kubernetes.io/*`` labels, applied through this one helper."""
    result = {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": part_of, "app": app}
    if component:
        result["app.kubernetes.io/component"] = component
    return result


def restricted_security_context(*, read_only_root: bool = True, run_as_user: int | None = 65532) -> dict[str, Any]:
    """Container security context of the 'restricted' Pod Security profile (secure by default)."""
    context: dict[str, Any] = {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": read_only_root,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if run_as_user is not None:
        context["runAsUser"] = run_as_user
    return context


NO_SIDECAR_ANNOTATIONS = {"sidecar.istio.io/inject": "false"}
"""Annotation form of the opt-out, for charts that only template pod annotations."""

NO_SIDECAR_LABELS = {"sidecar.istio.io/inject": "false"}
"""Pod opt-out of Istio injection (hostNetwork pods, Jobs: a sidecar keeps a Job running)."""
