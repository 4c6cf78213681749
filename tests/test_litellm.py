"""LiteLLM in the plan: model list from the engines, callbacks from tracing and Langfuse, secrets.

Every test runs the real program; overrides rename, move or switch off what LiteLLM depends on
and the proxy's configuration must follow, so the assertions are about wiring.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from llm_policies._credentials import is_credential_key

import versions
from components import langfuse, litellm, tracing_pipeline
from offline.checks.config_hygiene import plain_credentials
from offline.checks.gateway import ServicePorts
from offline.checks.tracing import resolve
from offline.plan import SECRET, Plan, Resource
from offline.runner import FAKE_SECRET, ROOT, run_program
from tests.conftest import container, env_of, one, stack_cfg
from tests.support import stack_plan

TOKENS = ("llm-tracing-infra:litellm:LiteLlm", "llm-tracing-infra:langfuse:Langfuse")


def proxy_config(plan: Plan) -> dict[str, Any]:
    document = one(plan, ":ConfigMap", "litellm-config").inputs["data"]["config.yaml"]
    return dict(yaml.safe_load(document))


def models(plan: Plan) -> dict[str, dict[str, Any]]:
    return {m["model_name"]: m["litellm_params"] for m in proxy_config(plan)["model_list"]}


def service_of(plan: Plan, url: str) -> ServicePorts:
    """The Service (created or chart-rendered) a cluster URL reaches on its port; it must exist."""
    service = resolve(plan, url)
    assert service is not None, f"{url} reaches no Service of the plan"
    return service


def subtree(plan: Plan, token: str) -> list[Resource]:
    roots = [r.urn for r in plan.resources if r.type == token]
    return [r for urn in roots for r in [plan.by_urn()[urn], *plan.descendants(urn)]]


@pytest.mark.parametrize(("stack", "engine", "service"), [("dev", "mock", "mock-llm"), ("gpu", "vllm", "vllm")])
def test_model_list_points_at_the_stack_engine(stack: str, engine: str, service: str) -> None:
    plan = stack_plan(stack)
    ((name, params),) = models(plan).items()
    assert params["model"] == f"openai/{name}"
    assert service_of(plan, params["api_base"]).name == service
    assert urlparse(params["api_base"]).path == "/v1"
    assert proxy_config(plan)["model_list"][0]["model_info"]["engine"] == engine


def test_model_list_follows_the_engine_name_and_namespace() -> None:
    plan = run_program("dev", {"mockEngine.servedModelName": "tiny-llm", "namespaces.llm": "serving"})
    assert set(models(plan)) == {"tiny-llm"}
    params = models(plan)["tiny-llm"]
    assert params["model"] == "openai/tiny-llm"
    assert urlparse(params["api_base"]).hostname == "mock-llm.serving.svc.cluster.local"
    service_of(plan, params["api_base"])


def test_canary_engines_each_get_a_model() -> None:
    plan = run_program("gpu", {
        "sglang.enabled": "true", "sglang.servedModelName": "qwen-sglang",
        "gateway.canary": json.dumps({"primary": "vllm", "canary": "sglang", "percent": 10}),
    })
    assert set(models(plan)) == {"qwen2.5-3b-instruct", "qwen-sglang"}
    for params in models(plan).values():
        service_of(plan, params["api_base"])


def test_config_change_rolls_the_pods() -> None:
    def checksum(plan: Plan) -> str:
        deployment = one(plan, ":Deployment", "litellm")
        return str(deployment.inputs["spec"]["template"]["metadata"]["annotations"]["checksum/config"])

    assert checksum(stack_plan("dev")) != checksum(run_program("dev", {"mockEngine.servedModelName": "other"}))


@pytest.mark.parametrize(
    ("stack", "overrides", "expected"),
    [
        ("dev", {}, False),
        ("gpu", {}, True),
        ("dev", {"langfuse.enabled": "true"}, True),
        ("gpu", {"langfuse.enabled": "false", "tracing.collector.exportToLangfuse": "false"}, False),
    ],
)
def test_langfuse_callback_iff_langfuse_is_on(stack: str, overrides: dict[str, str], expected: bool) -> None:
    plan = run_program(stack, overrides) if overrides else stack_plan(stack)
    settings = proxy_config(plan)["litellm_settings"]
    assert ("langfuse" in settings.get("success_callback", [])) is expected
    assert ("langfuse" in settings.get("failure_callback", [])) is expected
    env = env_of(container(one(plan, ":Deployment", "litellm")))
    secrets = [r for r in plan.k8s("Secret") if r.k8s_name == litellm.LANGFUSE_SECRET]
    assert bool(secrets) is expected
    if expected:
        assert env["LANGFUSE_HOST"] == langfuse.endpoints(stack_cfg(stack, overrides).namespaces.langfuse).web.url()
        service_of(plan, env["LANGFUSE_HOST"])
        for var, key in (("LANGFUSE_PUBLIC_KEY", "publicKey"), ("LANGFUSE_SECRET_KEY", "secretKey")):
            assert env[var] == {"secretKeyRef": {"name": litellm.LANGFUSE_SECRET, "key": key}}
        assert secrets[0].inputs["stringData"] == SECRET
        assert secrets[0].namespace == stack_cfg(stack, overrides).namespaces.litellm
    else:
        assert not {"LANGFUSE_HOST", "LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY"} & set(env)


def test_traces_go_to_the_collector_it_names() -> None:
    overrides = {"namespaces.tracing": "observability"}
    plan = run_program("dev", overrides)
    env = env_of(container(one(plan, ":Deployment", "litellm")))
    assert "otel" in proxy_config(plan)["litellm_settings"]["callbacks"]
    assert env["OTEL_EXPORTER"] == "otlp_grpc"
    collector = tracing_pipeline.endpoints(stack_cfg("dev", overrides).namespaces.tracing).otlp_grpc
    assert env["OTEL_ENDPOINT"] == collector.url()
    service_of(plan, env["OTEL_ENDPOINT"])
    assert urlparse(env["OTEL_ENDPOINT"]).hostname.endswith(".observability.svc.cluster.local")  # type: ignore[union-attr]


def test_master_key_is_generated_secret_and_read_from_its_secret(dev_plan: Plan) -> None:
    secret = one(dev_plan, ":Secret", litellm.MASTER_KEY_SECRET)
    assert secret.inputs["stringData"] == SECRET
    env = env_of(container(one(dev_plan, ":Deployment", "litellm")))
    assert env["LITELLM_MASTER_KEY"] == {"secretKeyRef": {"name": litellm.MASTER_KEY_SECRET, "key": "masterKey"}}
    assert any(r.type.startswith("random:") and r.name == "litellm-master-key-value" for r in dev_plan.resources)
    assert dev_plan.outputs["litellmMasterKey"] == SECRET
    deployment = one(dev_plan, ":Deployment", "litellm")
    assert deployment.dependencies and secret.urn in deployment.dependencies


def test_master_key_from_secret_config_replaces_the_generated_one(tmp_path: Path) -> None:
    document = yaml.safe_load((ROOT / "Pulumi.gpu.yaml").read_text())
    document["config"]["llm-tracing-infra:litellmMasterKey"] = {"secure": "AAABAMasterKey"}
    (tmp_path / "Pulumi.gpu.yaml").write_text(yaml.safe_dump(document))
    plan = run_program("gpu", program=ROOT / "__main__.py", root=tmp_path)
    assert not any(r.name == "litellm-master-key-value" for r in plan.resources)
    assert one(plan, ":Secret", litellm.MASTER_KEY_SECRET).inputs["stringData"] == SECRET
    assert plan.outputs["litellmMasterKey"] == SECRET


def test_deployment_is_pinned_probed_and_bounded(any_plan: Plan) -> None:
    deployment = one(any_plan, ":Deployment", "litellm")
    main = container(deployment)
    assert main["image"] == versions.IMAGES["litellm"] and not main["image"].endswith(":latest")
    assert main["livenessProbe"]["httpGet"]["path"] == "/health/liveliness"
    assert main["readinessProbe"]["httpGet"]["path"] == "/health/readiness"
    assert set(main["resources"]) == {"requests", "limits"}
    assert main["securityContext"]["allowPrivilegeEscalation"] is False
    assert main["args"][main["args"].index("--config") + 1] == litellm.CONFIG_PATH
    service = one(any_plan, ":Service", "litellm")
    assert service.inputs["spec"]["ports"][0]["port"] == 4000
    assert service.inputs["spec"]["selector"].items() <= deployment.inputs["spec"]["template"]["metadata"][
        "labels"].items()


def test_metrics_are_scraped_with_the_master_key(dev_plan: Plan) -> None:
    (monitor,) = [r for r in dev_plan.resources if r.type.endswith(":ServiceMonitor") and r.k8s_name == "litellm"]
    (endpoint,) = monitor.inputs["spec"]["endpoints"]
    assert endpoint["authorization"]["credentials"] == {"name": litellm.MASTER_KEY_SECRET, "key": "masterKey"}
    assert "prometheus" in proxy_config(dev_plan)["litellm_settings"]["callbacks"]
    crds = next(r for r in dev_plan.charts() if r.name == "monitoring-kps")
    assert dev_plan.depends_on(monitor.urn, crds.urn)

    plan = run_program("dev", {"litellm.prometheusMetrics": "false"})
    assert not [r for r in plan.resources if r.type.endswith(":ServiceMonitor") and r.k8s_name == "litellm"]
    assert "prometheus" not in proxy_config(plan)["litellm_settings"]["callbacks"]


NO_ENGINES = """
import pulumi_kubernetes as k8s

import config
from components.contracts import CrdReadiness, NamespaceRef, ServiceRef, TracingEndpoints
from components.litellm import LiteLlm, LiteLlmArgs

cfg, secrets = config.load()
crds = CrdReadiness("monitoring.coreos.com", k8s.core.v1.ConfigMap("stand-in-crds", data={}))
collector = ServiceRef("c", "t", 4317)
LiteLlm("litellm", LiteLlmArgs(
    settings=cfg.litellm, namespace=NamespaceRef.existing("litellm"), image=cfg.versions.image("litellm"),
    generated_secrets=cfg.generated_secrets, engines=[],
    tracing=TracingEndpoints(collector, collector, collector, collector), monitoring_crds=crds,
))
"""


def test_no_engines_is_an_error(tmp_path: Path) -> None:
    program = tmp_path / "no_engines.py"
    program.write_text(NO_ENGINES)
    with pytest.raises(ValueError, match="at least one serving engine") as raised:
        run_program("dev", program=program)
    assert not [r for r in raised.value.plan.resources if r.type.startswith("kubernetes:apps")]  # type: ignore[attr-defined]


def scanned(resource: Resource) -> dict:
    """Inputs to scan for plain credentials: all but a Secret's payload."""
    payload = ("data", "stringData") if resource.kind == "Secret" else ()
    return {k: v for k, v in resource.inputs.items() if k not in payload}


@pytest.mark.parametrize("stack", ["dev", "gpu"])
def test_secret_scan_of_litellm_and_langfuse(stack: str) -> None:
    """No literal credential in any input of the two components, on the default and on a full stack."""
    plan = run_program(stack, {"langfuse.enabled": "true"})
    secret_names = {r.k8s_name for r in plan.k8s("Secret")}
    resources = [r for token in TOKENS for r in subtree(plan, token)]
    assert {r.type for r in resources} >= {"kubernetes:core/v1:Secret", "kubernetes:helm.sh/v4:Chart"}
    for resource in resources:
        text = json.dumps(resource.inputs)
        # Generated values read as offline-random-<name>, secure config as FAKE_SECRET: neither may leak.
        assert "offline-random-" not in text and FAKE_SECRET not in text, resource.urn
        if resource.kind == "Secret":
            # judged per key (issue 17): every credential is a Pulumi secret, names and users may be plain
            payload = resource.inputs["stringData"]
            assert payload == SECRET or all(v == SECRET for k, v in payload.items() if is_credential_key(k)), payload
        hits = [
            # a Secret's payload is judged per key just above (its credentials read as [secret])
            (path, kind) for path, kind in plain_credentials(scanned(resource), resource.name)
            if not _names_a_secret(resource.inputs, path, secret_names)
        ]
        assert not hits, f"{resource.urn}: {hits}"


def _names_a_secret(inputs: dict[str, Any], path: str, secret_names: set[str]) -> bool:
    """``existingSecret: langfuse-redis-credentials`` is a reference, not a credential."""
    node: Any = inputs
    for part in path.split(".")[1:]:
        node = node[part] if isinstance(node, dict) else node
    all_keys = {k for keys in langfuse.SECRET_LAYOUT.values() for k in keys}
    return isinstance(node, str) and (node in secret_names or node in all_keys)
