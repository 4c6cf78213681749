"""What the Kubernetes provider renders under the real CLI, rendered offline so policies see each object.

Under ``pulumi preview`` the provider turns YAML groups, kustomizations and charts into one resource
per Kubernetes object. The mock runtime has no provider, so two things happen here instead:

* invokes the SDK makes itself (``kubernetes:yaml:decode`` for ``yaml.ConfigGroup``/``ConfigFile``,
  ``kubernetes:kustomize:directory`` for ``kustomize.Directory``, ``kubernetes:helm:template`` for
  ``helm.v3.Chart``) are answered with real rendering, and the SDK registers the children itself;
* provider-side components (``yaml.v2.ConfigGroup``/``ConfigFile``, ``kustomize.v2.Directory``,
  ``helm.v4.Chart``) arrive as one resource with inputs; ``expand`` adds their children to the plan
  (a chart's namespaced objects in the chart's namespace, as the provider normalizes them).

Helm templates are Go templates, which nothing here can execute: a chart contributes its static
parts (``crds/``, which Helm never templates, and templates without template actions) and its
values, which the policies walk (``valueYamlFiles`` merged in) in place of the objects they would
render. Under the real CLI a component chart reaches the pack with no properties at all, only its
rendered objects do; so the pack is handed only the values the chart's templates read
(``chart_reads``): a value Helm ignores renders nothing there, and decides nothing here. Files and
URLs that cannot be read offline are a mandatory finding naming the resource: the policies cannot
judge what they cannot see.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from offline.chart_reads import values_read_by
from offline.plan import Finding, Resource
from tools.paths import shared_dir

CONFIG_GROUP = "kubernetes:yaml/v2:ConfigGroup"
CONFIG_FILE = "kubernetes:yaml/v2:ConfigFile"
KUSTOMIZE_DIR = "kubernetes:kustomize/v2:Directory"
CHART_V4 = "kubernetes:helm.sh/v4:Chart"
CHART_V3 = "kubernetes:helm.sh/v3:Chart"
RELEASE_V3 = "kubernetes:helm.sh/v3:Release"
COMPONENTS = (CONFIG_GROUP, CONFIG_FILE, KUSTOMIZE_DIR, CHART_V4)
_ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
_GATEWAY_API_RELEASE = re.compile(r"gateway-api/releases/download/(v[0-9.]+)/(standard|experimental)-install\.yaml$")


class RenderError(Exception):
    """A source the provider would read that cannot be read offline."""


class UnreadableChart(Exception):
    """A local chart archive that does not open: its values are still judged, so this is advisory."""


@dataclass
class Session:
    """Rendering state of one program run: the program's directory, findings, v3 chart options."""

    program_dir: Path
    findings: list[Finding] = field(default_factory=list)
    v3_charts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def call(self, token: str, args: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Answer an invoke as the provider would; an unknown one gets an empty result and a finding."""
        try:
            if token == "kubernetes:yaml:decode":
                return {"result": decode(str(args.get("text") or ""))}, []
            if token == "kubernetes:kustomize:directory":
                return {"result": kustomize(self.path(str(args.get("directory"))))}, []
            if token == "kubernetes:helm:template":
                raw = args.get("jsonOpts") or "{}"
                opts = dict(json.loads(raw) if isinstance(raw, str) else raw)
                self.v3_charts[str(opts.get("release_name") or opts.get("releaseName") or "")] = opts
                source = opts.get("path") or opts.get("chart")
                return {"result": chart_static_objects(self.chart_path(source), opts.get("skip_crd_rendering"))}, []
        except UnreadableChart as exc:
            self.findings.append(Finding("offline-render", "advisory", None, f"invoke {token}: {exc}"))
            return {"result": []}, []
        except (RenderError, ValueError, OSError) as exc:
            self.findings.append(Finding("offline-render", "mandatory", None, f"invoke {token}: {exc}"))
            return {"result": []}, []
        self.findings.append(Finding(
            "offline-invoke", "mandatory", None,
            f"the program calls {token}, which the offline preview cannot answer (it got an empty result, so the "
            "plan may miss what depends on it): run `pulumi preview --policy-pack policies` for this program",
        ))
        return {}, []

    def path(self, name: str) -> Path:
        path = Path(name).expanduser()
        return path if path.is_absolute() else self.program_dir / path

    def chart_path(self, source: Any) -> Path | None:
        """A local chart (directory or archive); None for a repository chart (not fetched offline)."""
        if not isinstance(source, str) or not source:
            return None
        path = self.path(source)
        return path if path.exists() else None


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's loader when PyYAML has it: CRD bundles are megabytes of YAML."""


def decode(text: str) -> list[dict[str, Any]]:
    try:
        return [doc for doc in yaml.load_all(text, Loader=_LOADER) if isinstance(doc, dict)]
    except yaml.YAMLError as exc:
        raise RenderError(f"invalid YAML: {exc}") from exc


def read_source(location: str, base: Path) -> str:
    """Text of a manifest file or URL; a Gateway API release URL is read from the shared mirror."""
    if "://" in location:
        found = _GATEWAY_API_RELEASE.search(location)
        mirror = shared_dir() / "reference" / "gateway-api" / found.group(1) / found.group(2) if found else None
        if mirror is None or not (mirror / "kustomization.yaml").is_file():
            raise RenderError(f"{location} cannot be fetched offline; point the resource at a local copy")
        listed = yaml.safe_load((mirror / "kustomization.yaml").read_text()).get("resources", [])
        return "\n---\n".join((mirror / name).read_text() for name in listed)
    path = Path(location).expanduser()
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise RenderError(f"file {location} does not exist")
    return path.read_text()


def kustomize(directory: Path) -> list[dict[str, Any]]:
    """``kubectl kustomize`` (the kustomize the provider embeds) when available, else resources + namespace."""
    if not (directory / "kustomization.yaml").is_file():
        raise RenderError(f"{directory.name}: no kustomization.yaml")
    kubectl = shutil.which("kubectl")
    if kubectl:
        done = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RenderError(f"kustomize {directory.name}: {done.stderr.strip()}")
        return decode(done.stdout)
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text()) or {}
    objects: list[dict[str, Any]] = []
    for name in spec.get("resources") or []:
        target = directory / name
        objects.extend(kustomize(target) if target.is_dir() else decode(read_source(name, directory)))
    for obj in objects:
        if spec.get("namespace"):
            obj.setdefault("metadata", {})["namespace"] = spec["namespace"]
    return objects


# ---------------------------------------------------------------------------------------------
# Charts: static parts and values
# ---------------------------------------------------------------------------------------------


def _chart_files(path: Path) -> dict[str, str]:
    """Relative path -> text of a chart directory or packaged chart (top directory stripped)."""
    if path.is_dir():
        return {str(p.relative_to(path)): p.read_text() for p in path.rglob("*.yaml") if p.is_file()}
    files: dict[str, str] = {}
    with tarfile.open(path) as archive:
        for member in archive.getmembers():
            if member.isfile() and member.name.endswith(".yaml"):
                handle = archive.extractfile(member)
                if handle is not None:
                    files[member.name.split("/", 1)[-1]] = io.TextIOWrapper(handle, "utf-8").read()
    return files


def chart_static_objects(path: Path | None, skip_crds: Any = False) -> list[dict[str, Any]]:
    """What Helm renders without templating: ``crds/`` files and template files without actions."""
    if path is None:
        return []
    try:
        files = _chart_files(path)
    except (tarfile.TarError, OSError, UnicodeDecodeError) as exc:
        raise UnreadableChart(f"chart {path.name} cannot be read ({exc}); only its values are judged") from exc
    objects: list[dict[str, Any]] = []
    for name, text in sorted(files.items()):
        parts = name.split("/")
        in_crds = "crds" in parts and not skip_crds
        static_template = "templates" in parts and "{{" not in text
        if in_crds or static_template:
            objects.extend(decode(text))
    return objects


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        nested = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = _merge(merged[key], value) if nested else value
    return merged


def chart_values(inputs: dict[str, Any], base: Path) -> dict[str, Any]:
    """Values as the chart receives them: ``valueYamlFiles`` in order, then ``values`` on top."""
    merged: dict[str, Any] = {}
    for asset in inputs.get("valueYamlFiles") or []:
        location = asset.get("path") or asset.get("uri") if isinstance(asset, dict) else None
        if isinstance(location, str):
            merged = _merge(merged, yaml.safe_load(read_source(location, base)) or {})
    values = inputs.get("values")
    return _merge(merged, values) if isinstance(values, dict) else merged


# ---------------------------------------------------------------------------------------------
# Children of provider-side components
# ---------------------------------------------------------------------------------------------


def type_token(obj: dict[str, Any]) -> str:
    api_version = str(obj.get("apiVersion") or "v1")
    group_version = api_version if "/" in api_version else f"core/{api_version}"
    return f"kubernetes:{group_version}:{obj.get('kind')}"


CLUSTER_SCOPED = frozenset({
    "Namespace", "Node", "PersistentVolume", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding",
    "StorageClass", "CSIDriver", "CSINode", "VolumeAttachment", "VolumeAttributesClass", "PriorityClass",
    "RuntimeClass", "IngressClass", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding", "APIService", "CertificateSigningRequest", "ClusterTrustBundle",
    "FlowSchema", "PriorityLevelConfiguration", "DeviceClass", "ResourceSlice", "IPAddress", "ServiceCIDR",
})
_BUILT_IN_GROUPS = frozenset({
    "", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "rbac.authorization.k8s.io",
    "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io", "storage.k8s.io", "scheduling.k8s.io",
    "node.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io", "apiregistration.k8s.io",
    "certificates.k8s.io", "flowcontrol.apiserver.k8s.io", "resource.k8s.io",
})


def default_namespace(objects: list[dict[str, Any]], namespace: str) -> None:
    """Put ``namespace`` on namespaced objects that name none, as the provider's ``Normalize`` does.

    A kind's scope comes from the built-in API groups or a CRD among ``objects``; the provider asks
    the API server about any other kind, which this preview cannot, so those stay as they are (as
    they do under the provider when no cluster answers).
    """
    crd_scopes = {
        (str(spec.get("group")), str(spec["names"].get("kind"))): spec.get("scope") == "Namespaced"
        for spec in (o.get("spec") for o in objects if o.get("kind") == "CustomResourceDefinition")
        if isinstance(spec, dict) and isinstance(spec.get("names"), dict)
    }
    for obj in objects:
        metadata = obj.get("metadata")
        if not isinstance(metadata, dict) or metadata.get("namespace"):
            continue
        api_version = str(obj.get("apiVersion") or "")
        group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
        kind = str(obj.get("kind") or "")
        namespaced = crd_scopes.get((group, kind))
        if namespaced is None and group in _BUILT_IN_GROUPS:
            namespaced = kind not in CLUSTER_SCOPED
        if namespaced:
            metadata["namespace"] = namespace


def component_objects(resource: Resource, session: Session) -> list[dict[str, Any]]:
    inputs = resource.inputs
    if resource.type == CONFIG_GROUP:
        objects = [o for o in inputs.get("objs") or [] if isinstance(o, dict)]
        texts = inputs.get("yaml")
        for text in [texts] if isinstance(texts, str) else texts or []:
            objects.extend(decode(str(text)))
        for location in inputs.get("files") or []:
            objects.extend(decode(read_source(str(location), session.program_dir)))
        return objects
    if resource.type == CONFIG_FILE:
        return decode(read_source(str(inputs.get("file")), session.program_dir))
    if resource.type == KUSTOMIZE_DIR:
        return kustomize(session.path(str(inputs.get("directory"))))
    objects = chart_static_objects(session.chart_path(inputs.get("chart")), inputs.get("skipCrds"))
    default_namespace(objects, str(inputs.get("namespace") or "default"))  # the provider's default: "default"
    return objects


def expand(captured: list[Resource], stack_urn_prefix: str, session: Session) -> list[Resource]:
    """Children of every provider-side component, as the provider registers them; chart values merged."""
    children: list[Resource] = []
    for resource in captured:
        if resource.type in (CHART_V4, RELEASE_V3) and resource.inputs.get("valueYamlFiles"):
            try:
                resource.inputs["values"] = chart_values(resource.inputs, session.program_dir)
            except RenderError as exc:
                session.findings.append(Finding("offline-render", "mandatory", resource.urn, f"valueYamlFiles: {exc}"))
        if resource.type == CHART_V3 and resource.name in session.v3_charts:
            opts = session.v3_charts[resource.name]
            resource.inputs.update({
                "chart": opts.get("path") or opts.get("chart"), "version": opts.get("version"),
                "namespace": opts.get("namespace"), "values": opts.get("values") or {},
            })
        if resource.type in (CHART_V4, CHART_V3) and isinstance(resource.inputs.get("values"), dict):
            read = values_read_by(session.chart_path(resource.inputs.get("chart")), resource.inputs["values"])
            if read != resource.inputs["values"]:
                resource.policy_inputs = {**resource.inputs, "values": read}
        if resource.type not in COMPONENTS:
            continue
        try:
            objects = component_objects(resource, session)
        except UnreadableChart as exc:
            session.findings.append(Finding("offline-render", "advisory", resource.urn, str(exc)))
            continue
        except RenderError as exc:
            session.findings.append(Finding(
                "offline-render", "mandatory", resource.urn,
                f"{resource.type.rsplit(':', 1)[-1]} '{resource.name}': {exc}; its objects cannot be judged offline",
            ))
            continue
        parent_type = resource.urn.split("::")[2]
        for obj in objects:
            raw_metadata = obj.get("metadata")
            metadata: dict[str, Any] = raw_metadata if isinstance(raw_metadata, dict) else {}
            namespace = f"{metadata['namespace']}/" if metadata.get("namespace") else ""
            name = f"{resource.name}:{namespace}{metadata.get('name', '')}"
            token = type_token(obj)
            children.append(Resource(
                urn=f"{stack_urn_prefix}::{parent_type}${token}::{name}", type=token, name=name,
                parent=resource.urn, custom=True, remote=False, dependencies=list(resource.dependencies),
                inputs=obj,
            ))
    return children
