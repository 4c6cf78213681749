"""The offline preview: captured edges, waves, secrets, determinism and the plan.json contract."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from pulumi.runtime import resource as sdk_resource

from offline import sdk_internals
from offline.plan import SECRET, Plan
from offline.preview import preview
from offline.runner import FAKE_SECRET, run_program

PROGRAM = """
import pulumi
import pulumi_kubernetes as k8s

class Box(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("llm-tracing-infra:test:Box", name, None, opts)
        self.ns = k8s.core.v1.Namespace(f"{name}-ns", metadata={"name": name},
                                        opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})

crds = k8s.yaml.v2.ConfigFile("crds", file="bundle.yaml")
first = Box("first")
second = Box("second", pulumi.ResourceOptions(depends_on=[crds] if DECLARE_EDGE else []))
secret = k8s.core.v1.Secret("token", metadata={"namespace": first.ns.metadata.name},
                            string_data={"token": pulumi.Config().require_secret("token")})
plain = k8s.core.v1.ConfigMap("settings", metadata={"namespace": second.ns.metadata.name}, data={"a": "b"})
"""


def write_program(tmp_path: Path, declare_edge: bool) -> Path:
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  llm-tracing-infra:token:\n    secure: v1:AAAA\n")
    (tmp_path / "bundle.yaml").write_text("# no objects: the offline preview reads the file as the provider would\n")
    program = tmp_path / "prog.py"
    program.write_text(PROGRAM.replace("DECLARE_EDGE", str(declare_edge)))
    return program


def by_name(plan: Plan, name: str) -> str:
    return next(r.urn for r in plan.resources if r.name == name)


@pytest.mark.parametrize("declare_edge", [True, False])
def test_declared_edge_appears_and_is_inherited_by_children(tmp_path: Path, declare_edge: bool) -> None:
    plan = run_program("dev", program=write_program(tmp_path, declare_edge), root=tmp_path)
    crds, second_ns = by_name(plan, "crds"), by_name(plan, "second-ns")
    assert (crds in plan.by_urn()[by_name(plan, "second")].dependencies) is declare_edge
    # the child inherits the edge of its component, as the engine orders it
    assert (crds in plan.by_urn()[second_ns].dependencies) is declare_edge
    # an Output-derived edge: the ConfigMap's namespace comes from the second Namespace
    assert second_ns in plan.by_urn()[by_name(plan, "settings")].dependencies
    assert plan.depends_on(by_name(plan, "settings"), crds) is declare_edge


def test_waves_are_topological_levels(tmp_path: Path) -> None:
    plan = run_program("dev", program=write_program(tmp_path, True), root=tmp_path)
    level = {urn: n for n, wave in enumerate(plan.waves) for urn in wave}
    names = {r.urn: r.name for r in plan.resources}
    assert [sorted(names[u] for u in wave) for wave in plan.waves] == [
        ["crds", "first-ns"],
        ["second-ns", "token"],
        ["settings"],
    ]
    for resource in plan.resources:
        for dep in resource.dependencies:
            if resource.urn in level and dep in level:
                assert level[dep] < level[resource.urn]
    assert all(r.is_deployable for r in plan.resources if r.urn in level)


def test_secrets_read_as_placeholder(tmp_path: Path) -> None:
    plan = run_program("dev", program=write_program(tmp_path, True), root=tmp_path)
    token = plan.by_urn()[by_name(plan, "token")]
    assert token.inputs["stringData"] == SECRET
    assert FAKE_SECRET not in plan.dumps()


def test_every_secret_marked_value_reads_as_secret(tmp_path: Path) -> None:
    """Secretness is the mark, not the content: a value derived from a secret shares nothing with it."""
    program = write_program(tmp_path, True)
    derived = 'pulumi.Config().require_secret("token").apply(lambda t: hashlib.sha256(t.encode()).hexdigest())'
    text = program.read_text().replace('pulumi.Config().require_secret("token")', derived)
    program.write_text("import hashlib\n" + text)
    plan = run_program("dev", program=program, root=tmp_path)
    assert plan.by_urn()[by_name(plan, "token")].inputs["stringData"] == SECRET
    assert hashlib.sha256(FAKE_SECRET.encode()).hexdigest() not in plan.dumps()


def test_a_literal_marked_secret_stays_visible_for_the_policies(tmp_path: Path) -> None:
    program = write_program(tmp_path, True)
    program.write_text(program.read_text().replace('pulumi.Config().require_secret("token")', '"hunter2"'))
    plan = run_program("dev", program=program, root=tmp_path)
    # pulumi-kubernetes marks every Secret's data secret; a literal in the source is still a literal
    assert plan.by_urn()[by_name(plan, "token")].inputs["stringData"] == {"token": "hunter2"}


def test_a_secret_next_to_a_literal_is_judged_per_key(tmp_path: Path) -> None:
    """A Secret's payload mixing a Pulumi secret and a literal keeps the literal visible (issue 17)."""
    program = write_program(tmp_path, True)
    secret = 'pulumi.Config().require_secret("token")'
    program.write_text(program.read_text().replace(f'{{"token": {secret}}}', f'{{"user": "admin", "token": {secret}}}'))
    plan = run_program("dev", program=program, root=tmp_path)
    assert plan.by_urn()[by_name(plan, "token")].inputs["stringData"] == {"user": "admin", "token": SECRET}


def test_secret_flag_sets_secret_config(tmp_path: Path) -> None:
    """``--secret KEY=VALUE`` is ``pulumi config set --secret``: the program reads it as a secret."""
    program = write_program(tmp_path, True)
    plan = run_program("dev", program=program, root=tmp_path, secrets={"token": "real-looking-token-value"})
    assert plan.by_urn()[by_name(plan, "token")].inputs["stringData"] == SECRET
    assert "real-looking-token-value" not in plan.dumps()


def test_plan_json_contract_and_manifests(tmp_path: Path) -> None:
    out = tmp_path / "out"
    plan, code = preview(
        "dev", program=write_program(tmp_path, True), out=out, root=tmp_path, stream=io.StringIO()
    )
    assert code == 0 and plan is not None
    document = json.loads((out / "plan.json").read_text())
    assert set(document) == {"stack", "resources", "waves", "findings"}
    for resource in document["resources"]:
        assert {"urn", "type", "name", "parent", "dependencies", "inputs"} <= set(resource)
    manifests = sorted(p.name for p in (out / "manifests").iterdir())
    assert manifests == ["first.yaml", "second.yaml", "stack.yaml"]


@pytest.mark.parametrize("stack", ["dev", "gpu"])
def test_same_config_gives_byte_identical_plan(stack: str, tmp_path: Path) -> None:
    stream = io.StringIO()
    preview(stack, out=tmp_path / "a", stream=stream)
    preview(stack, out=tmp_path / "b", stream=stream)
    first, second = (tmp_path / "a" / "plan.json").read_bytes(), (tmp_path / "b" / "plan.json").read_bytes()
    assert first == second


@pytest.mark.parametrize("stack", ["dev", "gpu", "cluster"])
def test_real_stacks_preview_cleanly(stack: str, capsys: pytest.CaptureFixture[str]) -> None:
    from offline.__main__ import main

    code = main(["preview", "--stack", stack])
    output = capsys.readouterr().out
    assert code == 0, output
    assert "Deployment waves" in output
    assert f"summary: stack={stack}" in output.splitlines()[-1]


def test_a_stack_with_https_and_acme_previews_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    """HTTPS on (redirecting port 80, the issuer pair, verification over TLS) leaves no mandatory finding."""
    from offline.__main__ import main

    https = ["gateway.https.enabled=true", "gateway.baseDomain=lab.example.com",
             "gateway.https.acmeEmail=ops@example.com"]
    code = main(["preview", "--stack", "cluster", *(arg for key in https for arg in ("--set", key))])
    output = capsys.readouterr().out
    assert code == 0, output
    assert "HTTPRoute istio-system/https-redirect" in output and "mandatory=0" in output.splitlines()[-1]


def test_istiod_waits_for_gateway_api_crds(any_plan: Plan) -> None:
    crds = next(r for r in any_plan.resources if "gateway" in r.name.lower() and r.type.startswith("kubernetes:yaml"))
    istiod = next(r for r in any_plan.charts() if "istiod" in str(r.inputs.get("chart", "")))
    assert any_plan.depends_on(istiod.urn, crds.urn)
    level = {urn: n for n, wave in enumerate(any_plan.waves) for urn in wave}
    assert level[crds.urn] < level[istiod.urn]


def test_the_offline_run_sends_no_call_stacks_and_gives_the_sdk_back_its_own() -> None:
    """Only the engine's display reads the call stack; the SDK's own function is back afterwards."""
    original = sdk_resource._get_stack_trace
    with pytest.raises(RuntimeError), sdk_internals.without_stack_traces():
        assert list(sdk_resource._get_stack_trace().frames) == []
        raise RuntimeError("the program failed")
    assert sdk_resource._get_stack_trace is original
