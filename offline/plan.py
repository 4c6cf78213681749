"""The captured plan: every resource the program registered, its edges and the findings on it.

This is the contract behind ``plan.json`` (other tools read it) and the input of every check.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

SECRET = "[secret]"
"""What a property that Pulumi marks secret reads as in the plan."""

COMPONENT_PREFIX = "llm-tracing-infra:"


@dataclass
class Resource:
    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    remote: bool
    dependencies: list[str]
    """Every edge the engine sees: depends_on, Output-derived, and those inherited from parents."""
    inputs: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)
    """Resource options the engine acts on (``retainOnDelete``, ``protect``)."""
    policy_inputs: dict[str, Any] | None = None
    """What the policy pack is handed instead of ``inputs`` (None: the inputs themselves): a chart's
    values without those its templates never read (``offline/chart_reads.py``)."""

    @property
    def is_kubernetes_object(self) -> bool:
        return self.custom and self.type.startswith("kubernetes:") and not self.type.startswith("pulumi:providers")

    @property
    def kind(self) -> str:
        """Kubernetes kind for Kubernetes objects (``Deployment``), else the type's last part."""
        return str(self.inputs.get("kind") or self.type.rsplit(":", 1)[-1])

    @property
    def api_version(self) -> str:
        return str(self.inputs.get("apiVersion", ""))

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.inputs.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def k8s_name(self) -> str:
        return str(self.metadata.get("name", self.name))

    @property
    def namespace(self) -> str | None:
        namespace = self.metadata.get("namespace")
        return str(namespace) if namespace is not None else None

    @property
    def is_deployable(self) -> bool:
        """A unit the engine creates: a custom resource, or a provider-side (remote) component."""
        return (self.custom or self.remote) and not self.type.startswith("pulumi:providers:")

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "dependencies": self.dependencies,
            "inputs": self.inputs,
            "options": self.options,
        }


Level = Literal["mandatory", "advisory", "info"]


@dataclass(frozen=True)
class Finding:
    check: str
    level: Level
    urn: str | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "level": self.level, "urn": self.urn, "message": self.message}


@dataclass
class Plan:
    stack: str
    resources: list[Resource]
    outputs: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    waves: list[list[str]] = field(default_factory=list)

    def by_urn(self) -> dict[str, Resource]:
        return {r.urn: r for r in self.resources}

    def of_type(self, *types: str) -> Iterator[Resource]:
        return (r for r in self.resources if r.type in types)

    def k8s(self, kind: str, api_group_prefix: str = "") -> Iterator[Resource]:
        """Kubernetes objects of a kind created directly by the program (not rendered by charts)."""
        return (
            r
            for r in self.resources
            if r.is_kubernetes_object and r.kind == kind and r.api_version.startswith(api_group_prefix)
        )

    def charts(self) -> Iterator[Resource]:
        return self.of_type("kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Release")

    def children(self, urn: str) -> list[Resource]:
        return [r for r in self.resources if r.parent == urn]

    def descendants(self, urn: str) -> list[Resource]:
        out: list[Resource] = []
        stack = [urn]
        while stack:
            for child in self.children(stack.pop()):
                out.append(child)
                stack.append(child.urn)
        return out

    def ancestors(self, urn: str) -> list[str]:
        index = self.by_urn()
        out: list[str] = []
        parent = index[urn].parent if urn in index else None
        while parent:
            out.append(parent)
            parent = index[parent].parent if parent in index else None
        return out

    def depends_on(self, urn: str, target: str) -> bool:
        """True when ``urn`` waits for ``target``, directly or through other resources."""
        index = self.by_urn()
        seen: set[str] = set()
        todo = list(index[urn].dependencies) if urn in index else []
        while todo:
            current = todo.pop()
            if current == target:
                return True
            if current in seen or current not in index:
                continue
            seen.add(current)
            todo.extend(index[current].dependencies)
            todo.extend(r.urn for r in self.descendants(current))
        return False

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "resources": [r.to_json() for r in self.resources],
            "waves": self.waves,
            "findings": [f.to_json() for f in self.findings],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"

    def add(self, findings: Iterable[Finding]) -> None:
        self.findings.extend(findings)
