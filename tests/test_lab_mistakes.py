"""The lab's program mistakes: each edit applies to a copy and is judged by what preview says."""

from __future__ import annotations

import ast
import importlib.util
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import config
from config.capacity import GpuNodePool, Karpenter
from lab import mistakes
from lab.runner import COPY, ROOT

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "crd_schemas"


@pytest.mark.parametrize(
    "mistake", [*mistakes.WHILE_UP, *mistakes.BEFORE_CRDS, *mistakes.CLUSTER_WHILE_UP], ids=lambda m: m.name
)
def test_each_mistake_edits_a_copy_into_valid_python(tmp_path: Path, mistake: mistakes.Mistake) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("__main__.py", "components"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name)
        else:
            (project / name).write_text(source.read_text())
    copy = mistakes.mutated_copy(project, mistake)
    changed = [p for p in copy.rglob("*.py") if p.read_text() != (project / p.relative_to(copy)).read_text()]
    assert len(changed) == 1, "one file edited, in the copy only"
    ast.parse(changed[0].read_text())
    assert "__main__.py" in COPY


def test_verdict_needs_a_failure_that_says_the_right_thing() -> None:
    m = mistakes.INVALID_ROUTE_PATH
    cel = "error: ... spec.rules[0].matches[0].path: Invalid value: value must be an absolute path and start with '/'"
    assert mistakes.verdict(m, 255, cel)["ok"]
    assert not mistakes.verdict(m, 0, cel)["ok"], "a preview that passed caught nothing"
    other = mistakes.verdict(m, 255, "error: connection refused")
    assert not other["ok"] and "without saying" in str(other["message"])


def test_ingress_mistake_turns_grafana_ingress_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The edited module, loaded on its own, must hand the chart values with Grafana's Ingress on.
    edited = tmp_path / "monitoring_stack_edited.py"
    edited.write_text((ROOT / "components" / "monitoring_stack.py").read_text() + mistakes.GRAFANA_INGRESS)
    spec = importlib.util.spec_from_file_location("monitoring_stack_edited", edited)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    values = module.chart_values(config.StackConfig().monitoring, [], retain=True, receiver_secret=False,
                                 environment="dev")
    assert values["grafana"]["ingress"]["enabled"] is True
    assert mistakes.CHART_INGRESS.policy_pack and mistakes.CHART_INGRESS.expect.search("k8s-ingress-disallowed")


def test_node_pool_mistake_gives_the_first_requirement_an_unknown_operator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edited = tmp_path / "karpenter_edited.py"
    edited.write_text((ROOT / "components" / "karpenter.py").read_text() + mistakes.NODE_POOL_OPERATOR)
    spec = importlib.util.spec_from_file_location("karpenter_edited", edited)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    settings = Karpenter.model_validate({
        "enabled": True, "clusterName": "lab", "nodeRole": "KarpenterNodeRole-lab", "amiAlias": "al2023@v20251120",
    })  # fmt: skip
    node_pool = module.node_pool_spec(settings, GpuNodePool(dedicated=True))
    assert node_pool["template"]["spec"]["requirements"][0]["operator"] == "Within"
    # the pinned CRD's schema (the API server applies the same enum) refuses it
    fixture = json.loads((FIXTURES / "karpenter-crd-1.14.1" / "NodePool.json").read_text())
    obj = {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "gpu"}, "spec": node_pool}
    errors = [e.message for e in jsonschema.Draft7Validator(fixture["versions"]["v1"]).iter_errors(obj)]
    assert any("'Within' is not one of" in e for e in errors), errors


def test_node_pool_verdict_needs_the_api_servers_enum_message() -> None:
    m = mistakes.NODE_POOL_INVALID_OPERATOR
    refused = (
        'error: preview failed: NodePool.karpenter.sh "gpu" is invalid: spec.template.spec.requirements[0].operator: '
        'Unsupported value: "Within": supported values: "Gte", "Lte", "In", "NotIn", "Exists", "DoesNotExist"'
    )
    assert mistakes.verdict(m, 255, refused)["ok"]
    assert not mistakes.verdict(m, 255, "error: connection refused")["ok"]
    assert not mistakes.verdict(m, 0, refused)["ok"]


@pytest.mark.parametrize(
    ("stack", "choice", "while_up", "before_crds"),
    [
        ("dev", "auto", mistakes.WHILE_UP, mistakes.BEFORE_CRDS),
        ("gpu", "auto", (), ()),
        ("gpu", "on", mistakes.WHILE_UP, mistakes.BEFORE_CRDS),
        ("cluster", "auto", mistakes.CLUSTER_WHILE_UP, ()),
        ("cluster", "on", mistakes.CLUSTER_WHILE_UP, ()),
        ("cluster", "off", (), ()),
        ("dev", "off", (), ()),
    ],
)
def test_each_stack_runs_its_own_mistakes(stack: str, choice: str, while_up: Any, before_crds: Any) -> None:
    assert mistakes.for_stack(stack, choice) == (while_up, before_crds)


@pytest.mark.parametrize("mistake", [*mistakes.WHILE_UP, *mistakes.CLUSTER_WHILE_UP], ids=lambda m: m.name)
def test_mistakes_run_beside_the_no_change_preview_are_previews(mistake: mistakes.Mistake) -> None:
    """They run at the same time on one stack's state: only a preview leaves it untouched and takes no lock."""
    assert mistake.command == ("preview",)
