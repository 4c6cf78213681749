"""The offline preview renders what the provider renders and fails closed where it cannot."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from offline import policy_bridge, render
from offline.plan import Plan
from offline.preview import preview
from tests.support import stack_plan


def run(tmp_path: Path, body: str) -> tuple[Plan, int, str]:
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    program = tmp_path / "prog.py"
    program.write_text("import pulumi\nimport pulumi_kubernetes as k8s\n" + body + "\n")
    stream = io.StringIO()
    plan, code = preview("dev", program=program, stream=stream, root=tmp_path)
    assert plan is not None, stream.getvalue()
    return plan, code, stream.getvalue()


def test_an_unknown_invoke_is_a_finding_not_a_traceback(tmp_path: Path) -> None:
    _plan, code, output = run(tmp_path, 'pulumi.runtime.invoke("example:index:getThing", {"a": 1})')
    assert code == 1 and "Traceback" not in output
    assert "MANDATORY: offline-invoke" in output and "example:index:getThing" in output


def test_yaml_decode_invoke_makes_the_sdk_register_children(tmp_path: Path) -> None:
    plan, code, output = run(tmp_path, 'k8s.yaml.ConfigGroup("g", yaml=["apiVersion: v1\\nkind: ConfigMap\\n'
                                       'metadata: {name: x}\\ndata: {a: b}\\n"])')
    assert code == 0, output
    assert [r.type for r in plan.resources if r.parent] == ["kubernetes:core/v1:ConfigMap"]


def test_v2_config_group_children_carry_its_dependencies(tmp_path: Path) -> None:
    plan, _code, _output = run(tmp_path, 'ns = k8s.core.v1.Namespace("ns")\nk8s.yaml.v2.ConfigGroup("g", objs=[{'
                                       '"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}],'
                                       ' opts=pulumi.ResourceOptions(depends_on=[ns]))')
    [child] = [r for r in plan.resources if r.type == "kubernetes:core/v1:ConfigMap"]
    assert child.parent and child.parent.endswith("::g") and any(d.endswith("::ns") for d in child.dependencies)


def test_the_gateway_api_bundle_url_renders_from_the_shared_mirror() -> None:
    plan = stack_plan("dev")
    crds = [r for r in plan.resources if r.type.endswith(":CustomResourceDefinition")
            and (r.inputs.get("spec") or {}).get("group") == "gateway.networking.k8s.io"]
    if not (render.shared_dir() / "reference" / "gateway-api").is_dir():
        pytest.skip("no ../shared/reference/gateway-api mirror on this machine")
    assert {c.inputs["spec"]["names"]["plural"] for c in crds} >= {"gateways", "httproutes", "grpcroutes"}


def test_a_missing_policy_pack_fails_the_preview(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llm_policies.offline", None)  # import raises ImportError
    [finding] = policy_bridge.evaluate(stack_plan("dev"))
    assert finding.level == "mandatory" and "policy pack" in finding.message
