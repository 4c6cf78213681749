"""Failures caught for real: program changes the real CLI and API server must refuse.

Each mistake edits a copy of the lab's project, runs ``pulumi preview`` (or ``up``) on the lab's
stack and passes only when it fails with the expected message: the API server's CEL rule for a
route path, the policy pack for an Ingress that chart values switch on, "no matches for kind"
for a custom resource applied before its CRD, and (``cluster``, Karpenter on) the NodePool CRD's
enum for a requirement operator Karpenter does not know.

The CRD-order one is an ``up``: a preview cannot see it, because the provider lets a custom resource
of an unknown kind through preview (its CRD may come in the same update). In the program such an
ordering is caught earlier, by the offline preview's CRD-order check (offline/checks/crds.py).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

INVALID_ROUTE = """
# lab mistake: an HTTPRoute path without the leading "/" (the Gateway API CRD's CEL rule refuses it)
k8s.apiextensions.CustomResource(
    "lab-invalid-route",
    api_version="gateway.networking.k8s.io/v1",
    kind="HTTPRoute",
    metadata={"name": "lab-invalid-route", "namespace": cfg.namespaces.istio},
    spec={
        "parentRefs": [{"name": "main-gateway"}],
        "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "no-leading-slash"}}]}],
    },
    opts=pulumi.ResourceOptions(provider=provider, depends_on=[mesh.gateway_api_crds]),
)
"""

GRAFANA_INGRESS = """

# lab mistake: Grafana's chart values switch its Ingress on (the policy pack must block the rendered Ingress)
_lab_chart_values = chart_values


def chart_values(*args, **kwargs):  # type: ignore[no-redef]
    values = _lab_chart_values(*args, **kwargs)
    values["grafana"]["ingress"] = {"enabled": True, "hosts": ["grafana.example.com"]}
    return values
"""

CR_WITHOUT_CRD = """
# lab mistake: a custom resource of a kind the cluster has no CRD for, with nothing ordering it after one
k8s.apiextensions.CustomResource(
    "lab-orphan-route",
    api_version="gateway.networking.k8s.io/v1",
    kind="HTTPRoute",
    metadata={"name": "lab-orphan-route", "namespace": "default"},
    spec={"rules": [{"backendRefs": [{"name": "nothing", "port": 80}]}]},
    opts=pulumi.ResourceOptions(provider=provider),
)
"""


NODE_POOL_OPERATOR = """

# lab mistake: a NodePool requirement with an operator Karpenter does not know (its CRD's enum refuses it)
_lab_node_pool_spec = node_pool_spec


def node_pool_spec(*args, **kwargs):  # type: ignore[no-redef]
    spec = _lab_node_pool_spec(*args, **kwargs)
    spec["template"]["spec"]["requirements"][0]["operator"] = "Within"
    return spec
"""


@dataclass(frozen=True)
class Mistake:
    name: str
    edit: Callable[[Path], None]
    expect: re.Pattern[str]
    """What the failed preview must say."""
    policy_pack: bool = False
    targets: tuple[str, ...] = ()
    """``--target`` patterns: only these resources, as if nothing else came first."""
    command: tuple[str, ...] = ("preview",)


def _append(relative: str, text: str) -> Callable[[Path], None]:
    def edit(project: Path) -> None:
        path = project / relative
        path.write_text(path.read_text() + text)

    return edit


INVALID_ROUTE_PATH = Mistake(
    "caught-invalid-route-path",
    _append("__main__.py", INVALID_ROUTE),
    re.compile(r"must be an absolute path", re.IGNORECASE),
)
CHART_INGRESS = Mistake(
    "caught-chart-ingress",
    _append("components/monitoring_stack.py", GRAFANA_INGRESS),
    re.compile(r"k8s-ingress-disallowed"),
    policy_pack=True,
)
CUSTOM_RESOURCE_BEFORE_CRD = Mistake(
    "caught-custom-resource-before-its-crd",
    _append("__main__.py", CR_WITHOUT_CRD),
    re.compile(r"no matches for kind|could not find the requested resource|server could not find", re.IGNORECASE),
    # Alone, so the CRD bundle is not created ahead of it in the same update.
    targets=("**lab-orphan-route",),
    command=("up", "--yes", "--skip-preview"),
)

NODE_POOL_INVALID_OPERATOR = Mistake(
    "caught-nodepool-invalid-operator",
    _append("components/karpenter.py", NODE_POOL_OPERATOR),
    re.compile(r"requirements\[0\]\.operator: Unsupported value", re.IGNORECASE),
)

WHILE_UP = (INVALID_ROUTE_PATH, CHART_INGRESS)
"""Need the deployed stack (the CRDs must be in the cluster for the API server to validate). Previews
only: they run at the same time as the stack's no-change preview (a preview takes no lock on the state)."""
BEFORE_CRDS = (CUSTOM_RESOURCE_BEFORE_CRD,)
"""Need a cluster without the Gateway API CRDs: they run before any stack's ``up``, beside the real-CLI
corpus (which creates nothing); the stack's state then holds only its providers."""


CLUSTER_WHILE_UP = (NODE_POOL_INVALID_OPERATOR,)
"""The ``cluster`` stack's one mistake: its NodePool exists, so preview's server-side dry run meets the CRD.
A preview, like ``WHILE_UP``'s."""


def for_stack(stack: str, choice: str) -> tuple[tuple[Mistake, ...], tuple[Mistake, ...]]:
    """(while up, before the CRDs) for ``stack`` under ``--mistakes`` ``auto`` | ``on`` | ``off``.

    ``cluster`` runs only its Karpenter mistake (the others need nothing a second stack adds, and CI
    time is tight); ``auto`` runs the general ones on ``dev``, ``on`` on every other stack too.
    """
    if choice == "off":
        return (), ()
    if stack == "cluster":
        return CLUSTER_WHILE_UP, ()
    if choice == "on" or stack == "dev":
        return WHILE_UP, BEFORE_CRDS
    return (), ()


def mutated_copy(project: Path, mistake: Mistake) -> Path:
    """A copy of ``project`` next to it with ``mistake`` applied; same stack files, same backend."""
    target = project.with_name(f"{project.name}-{mistake.name}")
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(project, target, ignore=shutil.ignore_patterns("__pycache__"))
    mistake.edit(target)
    return target


def verdict(mistake: Mistake, returncode: int, output: str) -> dict[str, object]:
    """Passes when the preview failed and said what the mistake should make it say."""
    said = mistake.expect.search(output)
    ok = returncode != 0 and said is not None
    if ok and said is not None:
        line = next((ln.strip() for ln in output.splitlines() if mistake.expect.search(ln)), said.group(0))
        message = f"refused: {line[:300]}"
    elif returncode == 0:
        message = "it PASSED: the mistake was not caught"
    else:
        message = f"failed without saying /{mistake.expect.pattern}/: {output.strip()[-600:]}"
    return {"name": mistake.name, "ok": ok, "message": message}
