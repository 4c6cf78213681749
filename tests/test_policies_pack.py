"""The pack as the Pulumi CLI loads it, and the offline adapter's protocol and config handling.

``pulumi preview --policy-pack policies`` starts ``python -m pulumi.policy <engine> policies``
(the ``pulumi-analyzer-policy-python`` plugin), reads the port the pack prints, and talks gRPC to
it: ``GetAnalyzerInfo``, ``Configure``, ``Analyze``, ``AnalyzeStack``. The first test does exactly
that in a subprocess whose ``sys.path`` holds only ``policies/``, as under the CLI.
"""

from __future__ import annotations

import ast
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from llm_policies import offline
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2_grpc

from offline.plan import Plan
from tests.support import python_files
from tests.test_policies import EXPECTED, GOOD_DEPLOYMENT, POLICY_DIR

LEVELS = {proto.ADVISORY: "advisory", proto.MANDATORY: "mandatory", proto.DISABLED: "disabled"}
KINDS = {proto.PolicyType.POLICY_TYPE_RESOURCE: "resource", proto.PolicyType.POLICY_TYPE_STACK: "stack"}


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The pack served the way the CLI starts it, and a gRPC stub connected to it."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PULUMI_CONFIG")}
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(POLICY_DIR)],
        cwd=tmp_path_factory.mktemp("cli"), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().decode().strip()
        if not port.isdigit():
            process.kill()
            pytest.fail(f"policy pack did not start: {port!r}\n{process.stderr.read().decode()}")  # type: ignore[union-attr]
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.kill()
        process.wait(timeout=10)


def test_cli_load_lists_every_policy_with_its_level(analyzer: Any) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
    assert info.name == "llm-tracing-infra"
    listed = {p.name: (LEVELS[p.enforcementLevel], KINDS[p.policy_type]) for p in info.policies}
    expected = {name: (level, "stack" if kind.__name__.startswith("Stack") else "resource")
                for name, (level, kind) in EXPECTED.items()}
    assert listed == expected
    assert all(p.description for p in info.policies)
    schema = {p.name: dict(p.configSchema.properties) for p in info.policies}
    assert set(schema["k8s-env-no-literal-credentials"]) == {"allowedNames", "secretMarker"}


def _ingress_request() -> Any:
    props = struct_pb2.Struct()
    props.update({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web"}})
    return proto.AnalyzeRequest(type="kubernetes:networking.k8s.io/v1:Ingress", properties=props,
                                urn="urn:pulumi:dev::p::kubernetes:networking.k8s.io/v1:Ingress::web", name="web")


def test_cli_analyze_reports_and_config_overrides_the_level(analyzer: Any) -> None:
    [diagnostic] = analyzer.Analyze(_ingress_request(), timeout=30).diagnostics
    assert diagnostic.policyName == "k8s-ingress-disallowed"
    assert diagnostic.enforcementLevel == proto.MANDATORY and "HTTPRoute" in diagnostic.message

    # What the CLI sends for `--policy-pack-config` {"k8s-ingress-disallowed": "advisory"}.
    analyzer.Configure(offline.configure_request({"k8s-ingress-disallowed": "advisory"}), timeout=30)
    [diagnostic] = analyzer.Analyze(_ingress_request(), timeout=30).diagnostics
    assert diagnostic.enforcementLevel == proto.ADVISORY


# ---------------------------------------------------------------------------------------------
# The offline adapter
# ---------------------------------------------------------------------------------------------

INGRESS: dict[str, Any] = {
    "urn": "urn:pulumi:dev::p::kubernetes:networking.k8s.io/v1:Ingress::web",
    "type": "kubernetes:networking.k8s.io/v1:Ingress",
    "name": "web", "parent": None, "dependencies": [], "custom": True,
    "inputs": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web"}},
}


def deployment(**changes: Any) -> dict[str, Any]:
    inputs = {**GOOD_DEPLOYMENT, **changes}
    return {"urn": "urn:pulumi:dev::p::kubernetes:apps/v1:Deployment::vllm", "type": "kubernetes:apps/v1:Deployment",
            "name": "vllm", "parent": None, "dependencies": [], "custom": True, "inputs": inputs}


def test_evaluate_reports_policy_level_urn_and_message() -> None:
    [violation] = offline.evaluate([INGRESS])
    assert violation == {
        "policy": "k8s-ingress-disallowed", "level": "mandatory", "urn": INGRESS["urn"],
        "message": violation["message"],
    }
    assert violation["message"].startswith("Ingress 'web' (networking.k8s.io/v1) is forbidden")


def test_known_good_resources_give_no_violations() -> None:
    assert offline.evaluate([deployment()]) == []


@pytest.mark.parametrize(
    ("config", "level"),
    [
        ({"all": "advisory"}, "advisory"),
        ({"k8s-ingress-disallowed": "advisory"}, "advisory"),
        ({"k8s-ingress-disallowed": {"enforcementLevel": "advisory"}}, "advisory"),
        ({"all": "advisory", "k8s-ingress-disallowed": "mandatory"}, "mandatory"),
        ({"k8s-ingress-disallowed": "disabled"}, None),
    ],
)
def test_config_overrides_enforcement_levels(config: dict[str, Any], level: str | None) -> None:
    levels = [v["level"] for v in offline.evaluate([INGRESS], config)]
    assert levels == ([level] if level else [])


def test_config_promotes_an_advisory_policy() -> None:
    unpinned = deployment(spec={"template": {"spec": {"containers": [{"name": "x", "image": "nginx"}]}}})
    found = {v["policy"]: v["level"] for v in offline.evaluate([unpinned], {"k8s-image-pinned": "mandatory"})}
    assert found["k8s-image-pinned"] == "mandatory"


def test_config_properties_reach_the_validator() -> None:
    env = [{"name": "SIGNING_KEY", "value": "pk-1"}]
    leaky = deployment(spec={"template": {"spec": {"containers": [{**GOOD_DEPLOYMENT["spec"]["template"]["spec"][
        "containers"][0], "env": env}]}}})
    assert [v["policy"] for v in offline.evaluate([leaky])] == ["k8s-env-no-literal-credentials"]
    config = {"k8s-env-no-literal-credentials": {"allowedNames": ["SIGNING_KEY"]}}
    assert offline.evaluate([leaky], config) == []


def test_unknown_policy_names_in_config_are_an_error() -> None:
    with pytest.raises(ValueError, match="unknown policies"):
        offline.evaluate([INGRESS], {"k8s-ingres-disallowed": "advisory"})


def plan_resource(type_: str, name: str, inputs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A resource dict as plan.json holds it."""
    return {"urn": f"urn:pulumi:dev::p::{type_}::{name}", "type": type_, "name": name, "parent": None,
            "dependencies": [], "inputs": inputs, **extra}


def test_offline_marks_secrets_so_literals_show() -> None:
    literal = plan_resource("kubernetes:core/v1:Secret", "s", {
        "metadata": {"name": "s"}, "stringData": {"password": "Xk9mP2vL5nQ8wR4t", "token": "[secret]"}})
    [violation] = offline.evaluate([literal])
    assert violation["policy"] == "k8s-secret-no-literal-data" and "stringData.password" in violation["message"]
    # without the marker (pulumi preview) a generated-looking literal cannot be told from a Pulumi secret
    assert offline.evaluate([literal], {"k8s-secret-no-literal-data": {"secretMarker": ""}}) == []


def test_unknown_values_are_sent_as_the_engine_sentinel() -> None:
    unknown_ns = plan_resource("kubernetes:apps/v1:DaemonSet", "ne", {
        "metadata": {"name": "node-exporter", "namespace": "[unknown]"}, "spec": {"template": {"spec": {}}}})
    [violation] = offline.evaluate([unknown_ns])
    assert "not known during preview" in violation["message"]


def test_retain_on_delete_option_reaches_the_pvc_policy() -> None:
    claim = plan_resource("kubernetes:core/v1:PersistentVolumeClaim", "models", {"metadata": {"name": "models"}},
                          options={"retainOnDelete": False})
    assert [v["policy"] for v in offline.evaluate([claim])] == ["k8s-pvc-retained-on-delete"]
    claim["options"] = {"retainOnDelete": True}
    assert offline.evaluate([claim]) == []


def _violating_extras() -> list[dict[str, Any]]:
    """Resources that several resource policies and a stack policy (node-exporter sidecar) flag."""
    unpinned = deployment(spec={"template": {"spec": {"containers": [{"name": "x", "image": "nginx"}]}}})
    unpinned["urn"] += "-unpinned"
    return [
        INGRESS,
        unpinned,
        plan_resource("kubernetes:core/v1:Secret", "s", {
            "metadata": {"name": "s"}, "stringData": {"password": "Xk9mP2vL5nQ8wR4t"}}),
        plan_resource("kubernetes:apps/v1:DaemonSet", "ne", {
            "metadata": {"name": "node-exporter", "namespace": "[unknown]"}, "spec": {"template": {"spec": {}}}}),
        plan_resource("kubernetes:core/v1:PersistentVolumeClaim", "models", {"metadata": {"name": "models"}},
                      options={"retainOnDelete": False}),
    ]


def test_one_conversion_per_request_gives_the_sdks_verdicts(gpu_plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sharing one conversion of a request among the policies changes no violation, level or message."""
    resources = [{**r.to_json(), "custom": r.custom} for r in gpu_plan.resources] + _violating_extras()
    shared = offline.evaluate(resources)
    assert {"k8s-ingress-disallowed", "k8s-image-pinned", "k8s-secret-no-literal-data",
            "k8s-pvc-retained-on-delete", "node-exporter-sidecar-opt-out"} <= {v["policy"] for v in shared}
    monkeypatch.setattr(offline, "converted_once", contextlib.nullcontext)  # the SDK's own per-policy way
    assert offline.evaluate(resources) == shared


def test_each_request_is_converted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK names the offline host shares are still the ones its analyzer calls (else no sharing)."""
    calls: list[Any] = []
    real = json_format.MessageToDict

    def counted(message: Any, *rest: Any, **options: Any) -> Any:
        calls.append(message)
        return real(message, *rest, **options)

    monkeypatch.setattr(json_format, "MessageToDict", counted)
    resources = _violating_extras()
    offline.evaluate(resources)
    # Configure reads each policy's config once; then once per resource (its Analyze and AnalyzeStack entries)
    assert len(calls) == len(offline.POLICIES) + len(resources)


def test_pack_imports_only_itself_the_sdk_and_the_standard_library() -> None:
    """Under the CLI only policies/ is importable: the package must not reach into the project."""
    # yaml: PyYAML, a dependency of the pulumi SDK itself (pinned in policies/requirements.txt too)
    allowed = {"llm_policies", "pulumi_policy", "pulumi", "google", "grpc", "yaml", *sys.stdlib_module_names}
    for path in python_files(POLICY_DIR):  # not the pack's own virtualenv (make policy-venv)
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.relative_to(POLICY_DIR)} imports {name}"
