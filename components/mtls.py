"""MeshMtls: one PeerAuthentication per platform namespace, its mode derived from the edge list.

PeerAuthentication acts on the server's sidecar: STRICT makes it refuse every client that does not
speak mTLS, which is every client without a sidecar. The edge list (``network_edges``) says which
clients have none and which servers have one, so the mode follows from it, per injected namespace:

* no edge brings a plain-text client to a server with a sidecar: ``STRICT``;
* every such edge names its server's pods and ports (Prometheus' and LiteLLM's calls to an engine):
  ``STRICT``, plus one workload PeerAuthentication per server with exactly those ports
  ``PERMISSIVE`` (``portLevelMtls`` needs a workload selector);
* an edge reaches unknown pods or every port (chart-internal peers such as Prometheus calling
  Grafana and Alertmanager): ``PERMISSIVE`` for the namespace.

A namespace's policy is applied after its exceptions. ``istio.mtls.<namespace>`` overrides the
derived mode (then without exceptions); the offline check
``mtls-plaintext-clients`` fails the preview when that leaves a plain-text client facing STRICT.
Namespaces without injection keep PERMISSIVE (the policy has no sidecar to act on there). Each
policy names the plain-text clients it admits, and why they have no sidecar, in an annotation.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict

from components._k8s import TOKEN_PREFIX, labels
from components.contracts import Edge, NamespaceRef
from config.types import MtlsMode

PLAINTEXT_ANNOTATION = "llm-tracing-infra/plaintext-clients"


@dataclass(frozen=True)
class PortException:
    """Ports of one server workload left PERMISSIVE for the plain-text clients that call them."""

    pods: tuple[tuple[str, str], ...]
    ports: tuple[int, ...]
    edges: tuple[Edge, ...]

    @property
    def name(self) -> str:
        """``<app>-plaintext``: the server's ``app.kubernetes.io/name``, else a short hash of its labels."""
        app = dict(self.pods).get("app.kubernetes.io/name") or hashlib.sha256(repr(self.pods).encode()).hexdigest()[:8]
        return f"{app}-plaintext"


@dataclass(frozen=True)
class Mtls:
    """A namespace's mode, its port exceptions, and the plain-text edges behind either."""

    mode: MtlsMode
    exceptions: tuple[PortException, ...] = ()
    plaintext: tuple[Edge, ...] = ()
    """The edges that keep the namespace PERMISSIVE (none when STRICT or set by ``istio.mtls``)."""


def plaintext_edges(edges: Sequence[Edge], namespace: str) -> list[Edge]:
    """Edges into ``namespace`` from a client without a sidecar to a server with one."""
    return [e for e in edges if e.target == namespace and e.needs_plaintext]


def derive(edges: Sequence[Edge], namespace: str) -> Mtls:
    """The mode the edge list allows for an injected ``namespace`` (module docstring)."""
    plain = plaintext_edges(edges, namespace)
    if not plain:
        return Mtls("STRICT")
    unknown = [e for e in plain if not (e.server_pods and e.ports)]
    if unknown:
        return Mtls("PERMISSIVE", plaintext=tuple(unknown))
    by_server: dict[tuple[tuple[str, str], ...], list[Edge]] = defaultdict(list)
    for edge in plain:
        by_server[edge.server_pods].append(edge)
    return Mtls("STRICT", tuple(
        PortException(pods, tuple(sorted({p for e in server_edges for p in e.ports})), tuple(server_edges))
        for pods, server_edges in sorted(by_server.items())
    ))


def clients(edges: Sequence[Edge]) -> str:
    """``edge (why the client has no sidecar); ...``: what an annotation and the preview say."""
    return "; ".join(f"{e.name} ({e.plaintext_client})" for e in edges)


class MeshMtlsArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    namespaces: dict[str, NamespaceRef]
    """Namespace key (``namespaces`` section) -> namespace: each gets its PeerAuthentication ``default``."""
    injected: tuple[str, ...]
    """Names of the namespaces whose pods get sidecars: the only ones the mode is derived for."""
    edges: list[Edge]
    """The wiring (``network_edges.platform_edges``)."""
    overrides: dict[str, MtlsMode] = {}
    """``istio.mtls``: namespace key -> mode, set by the stack (no exceptions then)."""
    mesh: pulumi.Resource
    """IstioMesh: istiod's validating webhook admits these policies, and it created them before (aliases)."""


class MeshMtls(pulumi.ComponentResource):
    modes: dict[str, Mtls]
    """Namespace name -> what was applied."""

    def __init__(self, name: str, args: MeshMtlsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TOKEN_PREFIX}:mtls:MeshMtls", name, None, opts)
        self.modes = {}
        for key, ns in args.namespaces.items():
            if key in args.overrides:
                mtls = Mtls(args.overrides[key])
            elif ns.name in args.injected:
                mtls = derive(args.edges, ns.name)
            else:
                mtls = Mtls("PERMISSIVE")
            self.modes[ns.name] = mtls
            exceptions = [
                self._policy(f"{name}-{key}-{exception.name}", ns, exception.name, {
                    "selector": {"matchLabels": dict(exception.pods)},
                    "portLevelMtls": {str(port): {"mode": "PERMISSIVE"} for port in exception.ports},
                }, exception.edges, [args.mesh])
                for exception in mtls.exceptions
            ]
            # After its exceptions, so a plain-text client is never refused while they are applied. Moved here
            # from IstioMesh under the same name: the alias keeps its URN's history (no replacement).
            self._policy(f"{name}-{key}", ns, "default", {"mtls": {"mode": mtls.mode}}, mtls.plaintext,
                         [args.mesh, *exceptions], aliases=[pulumi.Alias(parent=args.mesh)])
        self.register_outputs({"modes": {ns: m.mode for ns, m in self.modes.items()}})

    def _policy(
        self, name: str, ns: NamespaceRef, k8s_name: str, spec: dict[str, Any], plaintext: Sequence[Edge],
        after: list[pulumi.Resource], aliases: list[pulumi.Alias] | None = None,
    ) -> pulumi.Resource:
        metadata: dict[str, object] = {"name": k8s_name, "namespace": ns.output, "labels": labels("mtls", "security")}
        if plaintext:  # no empty map: the API server drops it, and every later preview would show a diff
            metadata["annotations"] = {PLAINTEXT_ANNOTATION: clients(plaintext)}
        return k8s.apiextensions.CustomResource(
            name,
            api_version="security.istio.io/v1",
            kind="PeerAuthentication",
            metadata=metadata,
            spec=spec,
            opts=pulumi.ResourceOptions(parent=self, depends_on=after, aliases=aliases),
        )
