"""Langfuse in the plan: chart 2.x with the ClickHouse operator, credentials by Secret name only.

Every test runs the real program (``gpu`` turns Langfuse on); overrides switch retention, the
cert-manager install or names, and the plan must follow.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
from llm_policies._credentials import is_credential_key
from pulumi.runtime.sync_await import _sync_await

import versions
from components import _secrets, langfuse
from components._secrets import CredentialSeed, derived
from offline.checks.gateway import chart_name
from offline.checks.tracing import resolve
from offline.plan import SECRET, Plan, Resource
from offline.preview import preview
from offline.runner import ROOT, run_program
from tests.conftest import one, stack_cfg
from tests.support import stack_plan
from tools.chart_keys import load_keys, unknown_keys


def chart(plan: Plan, name: str) -> Resource:
    component = ":cert_manager:" if name == "cert-manager" else ":langfuse:"
    (found,) = [c for c in plan.charts() if chart_name(c) == name and component in c.urn]
    return found


def values(plan: Plan) -> dict[str, Any]:
    return dict(chart(plan, "langfuse").inputs["values"])


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}[{i}]")


def get(node: Any, path: str) -> Any:
    for part in path.split("."):
        node = node[part]
    return node


def secret_refs(node: Any) -> list[tuple[str, str]]:
    """Every ``(secret name, key)`` the chart values point Langfuse and its stores at."""
    refs = [(ref["name"], ref["key"]) for path, ref in walk(node) if path.endswith("secretKeyRef")]
    key_fields = {
        "postgresql.auth": ("secretKeys.userPasswordKey", "secretKeys.adminPasswordKey"),
        "redis.auth": ("existingSecretPasswordKey",),
        "clickhouse.auth": ("existingSecretKey",),
        "s3.auth": ("rootUserSecretKey", "rootPasswordSecretKey"),
    }
    for section, fields in key_fields.items():
        auth = get(node, section)
        refs += [(auth["existingSecret"], get(auth, field)) for field in fields]
    return refs


def langfuse_secrets(plan: Plan) -> list[Resource]:
    return [r for r in plan.k8s("Secret") if r.k8s_name in langfuse.SECRET_LAYOUT]


def test_web_endpoint_is_the_service_the_chart_renders(gpu_plan: Plan) -> None:
    web = langfuse.endpoints(stack_cfg("gpu").namespaces.langfuse).web
    service = resolve(gpu_plan, web.url())
    assert service is not None and service.source == chart(gpu_plan, "langfuse").urn
    assert values(gpu_plan)["fullnameOverride"] == web.name.removesuffix("-web")


def test_values_reference_secrets_by_name_only(gpu_plan: Plan) -> None:
    vals = values(gpu_plan)
    assert vals != SECRET, "a secret Output inside values makes the whole values secret"
    assert "offline-random-" not in json.dumps(vals)
    namespace = stack_cfg("gpu").namespaces.langfuse
    created = {r.k8s_name: r for r in gpu_plan.k8s("Secret") if r.namespace == namespace}
    refs = secret_refs(vals)
    assert {name for name, _ in refs} == set(langfuse.SECRET_LAYOUT), "every credential Secret is used"
    for name, key in refs:
        assert name in created, f"values reference Secret {name}, which the program does not create"
        assert key in langfuse.SECRET_LAYOUT[name], f"{name} has no key {key}"
        # judged per key (issue 17): every credential is a Pulumi secret, names and users may be plain
        payload = created[name].inputs["stringData"]
        assert payload == SECRET or all(v == SECRET for k, v in payload.items() if is_credential_key(k)), payload
    # The subcharts mount the same Secrets; otherwise the chart would render random ones of its own.
    assert get(vals, "postgresql.settings.existingSecret") == get(vals, "postgresql.userDatabase.existingSecret")
    assert get(vals, "redis.auth.usersExistingSecret") == get(vals, "redis.auth.existingSecret")
    assert get(vals, "s3.allInOne.s3.existingConfigSecret") == get(vals, "s3.auth.existingSecret")
    for path, node in walk(vals):
        if path.rsplit(".", 1)[-1] in ("password", "rootPassword", "value") and "additionalEnv" not in path:
            assert not node, f"{path} holds a literal"


def test_every_values_key_exists_in_the_pinned_charts(gpu_plan: Plan) -> None:
    for name in ("langfuse", "clickhouse-operator-helm", "cert-manager"):
        pin = versions.CHARTS[name]
        unknown = unknown_keys(chart(gpu_plan, name).inputs["values"], load_keys(name, pin.version))
        assert not unknown, f"{name}: keys the chart does not have: {unknown}"


def test_headless_init_creates_the_project_the_connection_uses(gpu_plan: Plan) -> None:
    env = {e["name"]: e for e in get(values(gpu_plan), "langfuse.web.pod.additionalEnv")}
    for key in langfuse.SECRET_LAYOUT[langfuse.INIT_SECRET]:
        assert env[key]["valueFrom"]["secretKeyRef"] == {"name": langfuse.INIT_SECRET, "key": key}
        assert "value" not in env[key]
    assert env["LANGFUSE_INIT_ORG_ID"]["value"] == "llm-tracing-infra"
    assert env["LANGFUSE_INIT_USER_EMAIL"]["value"] == stack_cfg("gpu").langfuse.admin_email
    assert gpu_plan.outputs["langfuseAdmin"] == SECRET

    renamed = run_program("gpu", {"langfuse.organization": "ACME Labs", "langfuse.project": "Chat Bot"})
    env = {e["name"]: e for e in get(values(renamed), "langfuse.web.pod.additionalEnv")}
    assert (env["LANGFUSE_INIT_ORG_ID"]["value"], env["LANGFUSE_INIT_PROJECT_ID"]["value"]) == ("acme-labs", "chat-bot")


def test_collector_gets_the_project_keys_through_its_own_secret(gpu_plan: Plan) -> None:
    assert one(gpu_plan, ":Secret", "otel-collector-langfuse").inputs["stringData"] == SECRET
    off = run_program("gpu", {"tracing.collector.exportToLangfuse": "false"})
    assert not [r for r in off.k8s("Secret") if r.k8s_name == "otel-collector-langfuse"]


def test_otlp_auth_header_is_basic_pk_sk_and_secret() -> None:
    connection = langfuse.LangfuseConnection(
        web=langfuse.endpoints(stack_cfg("gpu").namespaces.langfuse).web,
        public_key=pulumi.Output.from_input("pk-lf-1"),
        secret_key=pulumi.Output.from_input("sk-lf-2"),
    )
    header = connection.otlp_auth_header()
    assert _sync_await(header.future()) == "Basic " + base64.b64encode(b"pk-lf-1:sk-lf-2").decode()
    assert _sync_await(header.is_secret()) is True
    assert connection.otlp_traces_url == "http://langfuse-web.langfuse.svc.cluster.local:3000/api/public/otel"


def test_operator_and_cert_manager_come_first(gpu_plan: Plan) -> None:
    app, operator, certs = (chart(gpu_plan, n) for n in ("langfuse", "clickhouse-operator-helm", "cert-manager"))
    assert gpu_plan.depends_on(app.urn, operator.urn) and gpu_plan.depends_on(operator.urn, certs.urn)
    for secret in langfuse_secrets(gpu_plan):
        assert gpu_plan.depends_on(app.urn, secret.urn), "pods would start before their credentials"
    op_values = operator.inputs["values"]
    assert get(op_values, "manager.image.tag") == f"v{versions.CHARTS['clickhouse-operator-helm'].version}"
    assert get(op_values, "certManager.install") is False
    assert get(values(gpu_plan), "clickhouse.crdCheck") is False

    without = run_program("gpu", {"certManager.install": "false"})
    assert not [c for c in without.charts() if chart_name(c) == "cert-manager"]
    assert without.depends_on(chart(without, "langfuse").urn, chart(without, "clickhouse-operator-helm").urn)


@pytest.mark.parametrize("retain", [True, False])
def test_persistence_follows_retain_on_destroy(retain: bool) -> None:
    plan = stack_plan("gpu") if retain else run_program("gpu", {"storage.retainOnDestroy": "false"})
    vals = values(plan)
    policy = get(vals, "postgresql.storage.persistentVolumeClaimRetentionPolicy.whenDeleted")
    assert policy == ("Retain" if retain else "Delete")
    assert get(vals, "redis.dataStorage.keepPvc") is retain
    keep = {"helm.sh/resource-policy": "keep"}
    assert get(vals, "s3.allInOne.data.annotations") == (keep if retain else {})
    assert len(langfuse_secrets(plan)) == len(langfuse.SECRET_LAYOUT)
    for secret in langfuse_secrets(plan):
        assert secret.options["retainOnDelete"] is retain


def test_storage_and_resources_come_from_config() -> None:
    plan = run_program("gpu", {"langfuse.clickhouseStorageSize": "42Gi", "langfuse.keeperReplicas": "3"})
    vals = values(plan)
    assert get(vals, "clickhouse.cluster.storage.size") == "42Gi"
    assert get(vals, "clickhouse.keeper.replicas") == 3
    for path in (
        "langfuse.web",
        "langfuse.worker",
        "postgresql",
        "redis",
        "clickhouse.cluster",
        "clickhouse.keeper",
        "s3.allInOne",
    ):
        assert set(get(vals, f"{path}.resources")) == {"requests", "limits"}, path
    with pytest.raises(Exception, match="keeperReplicas"):
        run_program("gpu", {"langfuse.keeperReplicas": "2"})


def test_bucket_job_targets_the_seaweedfs_service(gpu_plan: Plan) -> None:
    job = one(gpu_plan, ":Job", "langfuse-s3-bucket")
    release = chart(gpu_plan, "langfuse").name
    (main,) = job.inputs["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in main["env"]}
    assert env["S3_HOST"] == f"{release}-s3-all-in-one.langfuse.svc:8333"
    assert env["AWS_SECRET_ACCESS_KEY"] == {"secretKeyRef": {"name": langfuse.S3_SECRET, "key": "secretKey"}}
    assert main["image"] == versions.IMAGES["curl"]
    assert job.inputs["spec"]["template"]["metadata"]["labels"]["sidecar.istio.io/inject"] == "false"
    assert gpu_plan.depends_on(job.urn, chart(gpu_plan, "langfuse").urn)
    assert langfuse.seaweedfs_service("stores3") == "stores3-all-in-one"


def test_dev_footprint_has_no_langfuse(dev_plan: Plan) -> None:
    token = "llm-tracing-infra:langfuse:Langfuse"
    assert not [r for r in dev_plan.resources if r.type == token]
    assert [r for r in run_program("dev", {"langfuse.enabled": "true"}).resources if r.type == token]


def test_chart_app_secret_is_never_stored_empty(gpu_plan: Plan) -> None:
    # langfuse 2.0.0 renders its app Secret empty when every credential is ours, and its `lookup`
    # then fails on every later render (the lab caught it): the chart carries a transform for it.
    (chart_resource,) = [c for c in gpu_plan.charts() if c.name == "langfuse-chart"]
    assert "components.langfuse.never_empty_chart_app_secret" in chart_resource.options["transforms"]

    def transform(props: dict[str, Any], type_: str = "kubernetes:core/v1:Secret") -> Any:
        args = pulumi.ResourceTransformArgs(
            custom=True, type_=type_, name="x", props=props, opts=pulumi.ResourceOptions()
        )
        return langfuse.never_empty_chart_app_secret(args)

    empty = {"metadata": {"name": langfuse.CHART_APP_SECRET}, "type": "Opaque"}
    result = transform(empty)
    assert result is not None and list(result.props["stringData"]) == ["note"]
    assert langfuse.APP_SECRET in result.props["stringData"]["note"]
    assert transform({**empty, "data": {"salt": "eA=="}}) is None, "a Secret with data is left alone"
    assert transform({"metadata": {"name": "other"}}) is None
    assert transform(empty, "kubernetes:core/v1:ConfigMap") is None


SEED = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"


def seed(version: str = "v2", project: str = "llm-tracing-infra", stack: str = "gpu") -> CredentialSeed:
    return CredentialSeed(pulumi.Output.from_input(SEED), version, project, stack)  # type: ignore[arg-type]


def test_credentials_derive_from_the_seed_when_set() -> None:
    # Same seed, same credentials: a `pulumi up` after `pulumi destroy` opens the retained data again.
    a = derived("seed-1", "langfuse-salt", 32, "alnum")
    assert a == derived("seed-1", "langfuse-salt", 32, "alnum") and len(a) == 32 and a.isalnum()
    assert a != derived("seed-2", "langfuse-salt", 32, "alnum") != derived("seed-1", "langfuse-other", 32, "alnum")
    assert set(derived("s", "k", 64, "hex")) <= set("0123456789abcdef")


def test_v2_separates_credentials_by_project_stack_and_purpose() -> None:
    def value(credential: CredentialSeed, purpose: str = "langfuse-salt") -> str:
        return derived(SEED, credential.message(purpose), 32, "alnum")

    base = value(seed())
    others = [value(seed(stack="dev")), value(seed(project="other-project")), value(seed(), "langfuse-nextauth-secret")]
    assert len({base, *others}) == 4, "one seed must not give the same credential to two stacks, projects or uses"
    # No ambiguity from joining fields: ("a-b", "c") and ("a", "b-c") are different messages.
    assert seed(project="a-b", stack="c").message("p") != seed(project="a", stack="b-c").message("p")


def test_v1_keeps_the_credentials_of_stacks_deployed_before_v2() -> None:
    """Known answers of the derivation before v2 (computed with it): retained data must open again."""
    assert seed("v1").message("langfuse-salt") == "langfuse-salt"
    assert seed("v1", stack="dev").message("langfuse-salt") == "langfuse-salt"
    assert derived(SEED, seed("v1").message("langfuse-salt"), 32, "alnum") == "YXl9UU9FPVKWF1wR5ULUuorUv7SgqEuM"
    key = derived(SEED, seed("v1").message("langfuse-project-secret-key"), 32, "hex")
    assert key == "b9212dd10a56b3e26010378f9d52186f"
    assert derived(SEED, seed("v2").message("langfuse-salt"), 32, "alnum") != "YXl9UU9FPVKWF1wR5ULUuorUv7SgqEuM"


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_a_derived_credential_is_a_secret_output(version: str) -> None:
    from config.sections import GeneratedSecrets

    made = _secrets.generated_secret(
        "langfuse-salt", GeneratedSecrets(), opts=pulumi.ResourceOptions(), seed=seed(version)
    )
    assert _sync_await(made.is_secret()), "a credential derived from the seed lost its secret mark"
    assert _sync_await(made.future()) == derived(SEED, seed(version).message("langfuse-salt"), 32, "alnum")


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_seeded_credentials_never_appear_in_clear(
    version: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Derived credentials are Pulumi secrets end to end: ``[secret]`` in plan.json and the manifests."""
    made: list[str] = []

    def recording(*args: Any) -> str:
        made.append(value := derived(*args))
        return value

    monkeypatch.setattr(_secrets, "derived", recording)
    out = tmp_path / "out"
    plan, code = preview(
        "gpu", {"langfuse.credentialDerivation": version}, out=out, stream=io.StringIO(),
        secrets={"langfuseCredentialSeed": SEED},
    )
    assert code == 0 and plan is not None
    assert len(made) == 11, made  # every Langfuse credential was derived, none generated
    texts = [(out / "plan.json").read_text(), *(p.read_text() for p in (out / "manifests").iterdir())]
    leaked = [v for v in made for t in texts if v in t or base64.b64encode(v.encode()).decode() in t]
    assert not leaked, f"derived credentials in clear: {leaked}"
    for resource in langfuse_secrets(plan):  # judged per key: every derived value reads [secret]
        payload = resource.inputs["stringData"]
        assert payload == SECRET or SECRET in payload.values(), payload


def test_seeded_credentials_need_no_generator_resources(tmp_path: Path, gpu_plan: Plan) -> None:
    stack_file = (ROOT / "Pulumi.gpu.yaml").read_text()
    (tmp_path / "Pulumi.gpu.yaml").write_text(
        stack_file + "  llm-tracing-infra:langfuseCredentialSeed:\n    secure: v1:x\n"
    )
    (tmp_path / "__main__.py").write_text((ROOT / "__main__.py").read_text())
    seeded = run_program("gpu", program=tmp_path / "__main__.py", root=tmp_path)

    def generators(plan: Plan) -> list[str]:
        return [r.name for r in plan.resources if r.type.startswith("random:") and r.name.startswith("langfuse-")]

    assert len(generators(gpu_plan)) == 11 and generators(seeded) == []
    assert len(langfuse_secrets(seeded)) == len(langfuse.SECRET_LAYOUT)
