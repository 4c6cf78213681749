"""Policy unit tests: the real validators, called the way the engine calls them.

Each policy gets a known-good fixture that passes and one mutation per failure case that fails with
the expected message (the compliance-policies pattern). Props go through the SDK's own
deserializer and unknown-checking proxy, so the validators see what ``pulumi preview`` hands them.
"""

from __future__ import annotations

import base64
import copy
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

POLICY_DIR = Path(__file__).resolve().parent.parent / "policies"
if str(POLICY_DIR) not in sys.path:
    sys.path.insert(0, str(POLICY_DIR))

import llm_policies  # noqa: E402
from llm_policies import (  # noqa: E402
    container_resources,
    credential_literals,
    env_literal_credentials,
    image_pinned,
    istiod_after_gateway_crds,
    no_ingress,
    no_istio_routing,
    no_load_balancer,
    node_exporter_no_sidecar,
    pod_security_level,
    pvc_retained,
    secret_literal_data,
    vllm_gpu_memory,
    vllm_kubernetes_only,
    workload_probes,
)
from pulumi_policy import (  # noqa: E402
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties  # noqa: E402
from pulumi_policy.policy import _NotApplicableError  # noqa: E402
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy  # noqa: E402

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SECRET = "kubernetes:core/v1:Secret"
CHART = "kubernetes:helm.sh/v4:Chart"
CONFIG_FILE = "kubernetes:yaml/v2:ConfigFile"
CONFIG_GROUP = "kubernetes:yaml/v2:ConfigGroup"
NAMESPACE = "kubernetes:core/v1:Namespace"


# ---------------------------------------------------------------------------------------------
# Running policies as the engine does
# ---------------------------------------------------------------------------------------------


def options(parent: str | None = None) -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], parent)


def engine_props(props: dict[str, Any]) -> Any:
    """Props as the SDK's Analyze hands them over: deserialized and wrapped in the unknown proxy."""
    return unknown_checking_proxy(deserialize_properties(copy.deepcopy(props)))


def run_resource(
    policy: ResourceValidationPolicy,
    resource_type: str,
    props: dict[str, Any],
    config: dict[str, Any] | None = None,
    opts: PolicyResourceOptions | None = None,
) -> list[str]:
    violations: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        violations.append(message)

    args = ResourceValidationArgs(
        resource_type, engine_props(props), f"urn:pulumi:dev::p::{resource_type}::r", "r",
        opts or options(), None, config,
    )
    policy.validate(args, report)
    return violations


def resource(
    urn: str, type_: str, props: dict[str, Any], parent: str | None = None, deps: tuple[str, ...] = ()
) -> dict[str, Any]:
    return {"urn": urn, "type": type_, "props": props, "parent": parent, "deps": list(deps)}


def run_stack(policy: StackValidationPolicy, resources: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """Build PolicyResources with parent/dependency objects, as AnalyzeStack does, and validate."""
    built = {
        r["urn"]: PolicyResource(r["type"], engine_props(r["props"]), r["urn"], r["urn"].rsplit("::", 1)[-1],
                                 options(r["parent"]), None, None, [], {})
        for r in resources
    }
    for r in resources:
        if r["parent"] in built:
            built[r["urn"]].parent = built[r["parent"]]
        built[r["urn"]].dependencies = [built[d] for d in r["deps"] if d in built]
    violations: list[tuple[str, str | None]] = []

    def report(message: str, urn: str | None = None) -> None:
        violations.append((message, urn))

    policy.validate(StackValidationArgs(list(built.values())), report)
    return violations


def mutate(props: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    mutated = copy.deepcopy(props)
    change(mutated)
    return mutated


# ---------------------------------------------------------------------------------------------
# Known-good fixtures
# ---------------------------------------------------------------------------------------------

GOOD_CONTAINER: dict[str, Any] = {
    "name": "vllm",
    "image": "docker.io/vllm/vllm-openai:v0.10.1",
    "args": ["--model", "Qwen/Qwen2.5-3B-Instruct", "--gpu-memory-utilization", "0.9"],
    "env": [
        {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf", "key": "token"}}},
        {"name": "TOKENIZERS_PARALLELISM", "value": "false"},
        {"name": "VLLM_GPU_MEMORY_UTILIZATION", "value": "0.85"},
    ],
    "resources": {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"cpu": "4", "memory": "16Gi"}},
    "readinessProbe": {"httpGet": {"path": "/health", "port": 8000}},
    "livenessProbe": {"httpGet": {"path": "/health", "port": 8000}},
}


def workload(kind: str = "Deployment", container: dict[str, Any] | None = None) -> dict[str, Any]:
    containers = [copy.deepcopy(container or GOOD_CONTAINER)]
    pod = {"metadata": {"labels": {"app": "vllm"}}, "spec": {"containers": containers}}
    body: dict[str, Any] = {"metadata": {"name": "vllm", "namespace": "llm"}}
    if kind == "Pod":
        body.update(pod)
    elif kind == "CronJob":
        body["spec"] = {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": pod}}}
    else:
        body["spec"] = {"template": pod}
    return body


def container_of(props: dict[str, Any]) -> dict[str, Any]:
    return props["spec"]["template"]["spec"]["containers"][0]


GOOD_DEPLOYMENT = workload()


# ---------------------------------------------------------------------------------------------
# Metadata
# ---------------------------------------------------------------------------------------------

EXPECTED = {
    "k8s-ingress-disallowed": ("mandatory", ResourceValidationPolicy),
    "istio-routing-resources-disallowed": ("mandatory", ResourceValidationPolicy),
    "istiod-requires-gateway-api-crds": ("mandatory", StackValidationPolicy),
    "node-exporter-sidecar-opt-out": ("mandatory", StackValidationPolicy),
    "vllm-gpu-memory-utilization-range": ("mandatory", ResourceValidationPolicy),
    "k8s-secret-no-literal-data": ("mandatory", ResourceValidationPolicy),
    "k8s-env-no-literal-credentials": ("mandatory", ResourceValidationPolicy),
    "no-credential-literals": ("mandatory", ResourceValidationPolicy),
    "vllm-kubernetes-only": ("mandatory", ResourceValidationPolicy),
    "pod-security-level": ("mandatory", StackValidationPolicy),
    "k8s-image-pinned": ("advisory", ResourceValidationPolicy),
    "k8s-container-resources-set": ("advisory", ResourceValidationPolicy),
    "k8s-workload-probes-set": ("advisory", ResourceValidationPolicy),
    "k8s-service-no-load-balancer": ("advisory", ResourceValidationPolicy),
    "k8s-pvc-retained-on-delete": ("advisory", ResourceValidationPolicy),
}


def test_pack_lists_every_policy_with_its_level_and_kind() -> None:
    assert [p.name for p in llm_policies.POLICIES] == list(EXPECTED)
    for policy in llm_policies.POLICIES:
        level, kind = EXPECTED[policy.name]
        assert isinstance(policy, kind), policy.name
        assert policy.enforcement_level == EnforcementLevel(level), policy.name
        assert policy.description and policy.remediation_steps and policy.severity, policy.name


def test_each_module_registers_its_own_policy() -> None:
    modules = [no_ingress, no_istio_routing, istiod_after_gateway_crds, node_exporter_no_sidecar, vllm_gpu_memory,
               secret_literal_data, env_literal_credentials, credential_literals, vllm_kubernetes_only,
               pod_security_level, image_pinned,
               container_resources, workload_probes, no_load_balancer, pvc_retained]
    assert [m.POLICY for m in modules] == llm_policies.POLICIES


@pytest.mark.parametrize(
    "policy", [p for p in llm_policies.POLICIES if isinstance(p, ResourceValidationPolicy)], ids=lambda p: p.name
)
def test_known_good_workload_passes_every_resource_policy(policy: ResourceValidationPolicy) -> None:
    assert run_resource(policy, DEPLOYMENT, GOOD_DEPLOYMENT) == []


# ---------------------------------------------------------------------------------------------
# 1. Ingress
# ---------------------------------------------------------------------------------------------

INGRESS = no_ingress.POLICY


@pytest.mark.parametrize("api_version", ["networking.k8s.io/v1", "networking.k8s.io/v1beta1", "extensions/v1beta1"])
def test_ingress_of_any_api_version_is_forbidden(api_version: str) -> None:
    token = f"kubernetes:{api_version}:Ingress"
    props = {"apiVersion": api_version, "kind": "Ingress", "metadata": {"name": "web"}}
    [message] = run_resource(INGRESS, token, props)
    assert "Ingress 'web'" in message and "HTTPRoute" in message


def test_httproute_and_disabled_chart_ingress_pass() -> None:
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "web"}}
    assert run_resource(INGRESS, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", route) == []
    values = {"chart": "kube-prometheus-stack", "values": {"grafana": {"ingress": {"enabled": False}}}}
    assert run_resource(INGRESS, CHART, values) == []


@pytest.mark.parametrize(
    ("values", "path"),
    [
        ({"grafana": {"ingress": {"enabled": True}}}, "values.grafana.ingress.enabled"),
        ({"ingress": {"enabled": "true", "hosts": ["a"]}}, "values.ingress.enabled"),
        ({"alertmanager": {"ingress.enabled": True}}, "values.alertmanager.ingress.enabled"),
    ],
)
def test_chart_values_switching_ingress_on_are_forbidden(values: dict[str, Any], path: str) -> None:
    [message] = run_resource(INGRESS, CHART, {"chart": "oci://r/kube-prometheus-stack", "values": values})
    assert f"'kube-prometheus-stack' switch an Ingress on at {path}" in message and "HTTPRoute" in message


def test_ingress_inside_a_yaml_group_is_forbidden() -> None:
    objs = [{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "side-door"}}]
    [message] = run_resource(INGRESS, CONFIG_GROUP, {"objs": objs})
    assert "Ingress 'side-door'" in message


# ---------------------------------------------------------------------------------------------
# 2. Istio VirtualService / DestinationRule
# ---------------------------------------------------------------------------------------------

ISTIO = no_istio_routing.POLICY


@pytest.mark.parametrize("version", ["v1", "v1beta1", "v1alpha3"])
def test_virtual_service_is_forbidden_with_field_mapping(version: str) -> None:
    props = {"apiVersion": f"networking.istio.io/{version}", "kind": "VirtualService", "metadata": {"name": "vs"},
             "spec": {"hosts": ["a"]}}
    [message] = run_resource(ISTIO, f"kubernetes:networking.istio.io/{version}:VirtualService", props)
    assert "VirtualService 'vs'" in message
    for mapping in ("hosts -> HTTPRoute.spec.hostnames", "backendRefs[].weight", "rules[].timeouts.request"):
        assert mapping in message


def test_destination_rule_is_forbidden_with_field_mapping() -> None:
    props = {"apiVersion": "networking.istio.io/v1beta1", "kind": "DestinationRule", "metadata": {"name": "dr"}}
    [message] = run_resource(ISTIO, "kubernetes:networking.istio.io/v1beta1:DestinationRule", props)
    assert "subsets -> one Service per subset" in message and "trafficPolicy.tls -> BackendTLSPolicy" in message


def test_other_istio_kinds_pass() -> None:
    telemetry = {"apiVersion": "telemetry.istio.io/v1", "kind": "Telemetry", "metadata": {"name": "t"}}
    assert run_resource(ISTIO, "kubernetes:telemetry.istio.io/v1:Telemetry", telemetry) == []
    peer = {"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication", "metadata": {"name": "p"}}
    assert run_resource(ISTIO, "kubernetes:security.istio.io/v1:PeerAuthentication", peer) == []


def test_chart_values_creating_a_virtual_service_are_forbidden() -> None:
    props = {"chart": "litellm-helm", "values": {"istio": {"virtualService": {"enabled": True}}}}
    [message] = run_resource(ISTIO, CHART, props)
    assert "values.istio.virtualService.enabled" in message and "HTTPRoute" in message


# ---------------------------------------------------------------------------------------------
# 3. istiod after the Gateway API CRDs (stack)
# ---------------------------------------------------------------------------------------------

ISTIOD = istiod_after_gateway_crds.POLICY
BUNDLE_URL = "https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.5.1/experimental-install.yaml"
P = "urn:pulumi:dev::p::"


ROUTES_CRD = {"spec": {"group": "gateway.networking.k8s.io", "names": {"plural": "httproutes"}}}
"""The bundle is recognised by its CRDs (the ConfigFile's children under pulumi preview), not by its file name."""


def mesh(*, base_deps: tuple[str, ...] = (P + "crds",), istiod_deps: tuple[str, ...] = (P + "base",)) -> list[dict]:
    return [
        resource(P + "crds", CONFIG_FILE, {"file": BUNDLE_URL}),
        resource(P + "crds-httproutes", "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", ROUTES_CRD,
                 parent=P + "crds"),
        resource(P + "base", CHART, {"chart": "base"}, deps=base_deps),
        resource(P + "istiod", CHART, {"chart": "istiod", "values": {}}, deps=istiod_deps),
    ]


def test_istiod_through_base_to_the_bundle_passes() -> None:
    assert run_stack(ISTIOD, mesh()) == []


def test_istiod_depending_on_a_rendered_crd_child_passes() -> None:
    """Under pulumi preview the bundle's CRDs are its children; depending on one of them counts."""
    crd = resource(P + "crd-routes", "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition",
                   ROUTES_CRD, parent=P + "crds")
    assert run_stack(ISTIOD, [*mesh(base_deps=(P + "crd-routes",)), crd]) == []


def test_istiod_inheriting_the_edge_from_its_component_passes() -> None:
    component = resource(P + "mesh", "llm-tracing-infra:istio_mesh:IstioMesh", {}, deps=(P + "crds",))
    istiod = resource(P + "istiod", CHART, {"chart": "/mirror/istiod-1.30.3.tgz"}, parent=P + "mesh")
    crds = mesh()[:2]
    assert run_stack(ISTIOD, [*crds, component, istiod]) == []


def test_istiod_without_the_edge_fails() -> None:
    [(message, urn)] = run_stack(ISTIOD, mesh(istiod_deps=()))
    assert urn == P + "istiod"
    assert "does not depend on the Gateway API CRD bundle" in message and "depends_on" in message


def test_istiod_found_by_name_when_the_chart_is_a_path() -> None:
    resources = mesh(istiod_deps=())
    resources[2]["props"] = {"chart": "/charts/control-plane.tgz"}
    resources[2]["urn"] = P + "mesh-istiod"
    assert len(run_stack(ISTIOD, resources)) == 1


def test_istiod_without_any_bundle_fails() -> None:
    resources = [r for r in mesh() if not r["urn"].startswith(P + "crds")]
    [(message, _)] = run_stack(ISTIOD, resources)
    assert "installs no Gateway API CRD bundle" in message


def test_an_unrelated_yaml_bundle_does_not_count() -> None:
    resources = mesh()
    resources[0]["props"] = {"file": "https://example.com/gateway-api-inference-extension/v1.4.0/manifests.yaml"}
    resources[1]["props"] = {"spec": {"group": "inference.networking.k8s.io", "names": {"plural": "inferencepools"}}}
    [(message, _)] = run_stack(ISTIOD, resources)
    assert "installs no Gateway API CRD bundle" in message


def test_no_istiod_no_violation() -> None:
    assert run_stack(ISTIOD, [resource(P + "crds", CONFIG_FILE, {"file": BUNDLE_URL})]) == []


# ---------------------------------------------------------------------------------------------
# 4. node-exporter sidecar opt-out (stack)
# ---------------------------------------------------------------------------------------------

NODE_EXPORTER = node_exporter_no_sidecar.POLICY
OPT_OUT = {"sidecar.istio.io/inject": "false"}


def namespace(name: str, injection: str = "enabled") -> dict[str, Any]:
    return resource(P + f"ns-{name}", NAMESPACE, {"metadata": {"name": name, "labels": {"istio-injection": injection}}})


def kps(values: dict[str, Any], ns: str = "monitoring") -> dict[str, Any]:
    return resource(P + "kps", CHART, {"chart": "kube-prometheus-stack", "namespace": ns, "values": values})


GOOD_KPS_VALUES = {"prometheus-node-exporter": {"podLabels": {"jobLabel": "node-exporter", **OPT_OUT}}}


def test_kps_with_opt_out_in_injected_namespace_passes() -> None:
    assert run_stack(NODE_EXPORTER, [namespace("monitoring"), kps(GOOD_KPS_VALUES)]) == []


def test_kps_without_opt_out_in_injected_namespace_fails() -> None:
    [(message, urn)] = run_stack(NODE_EXPORTER, [namespace("monitoring"), kps({"prometheus-node-exporter": {}})])
    assert urn == P + "kps"
    assert "namespace 'monitoring' has istio-injection=enabled" in message
    assert 'values.prometheus-node-exporter.podLabels["sidecar.istio.io/inject"] = "false"' in message


@pytest.mark.parametrize(
    "values",
    [
        {"prometheus-node-exporter": {"podAnnotations": OPT_OUT}},
        {"nodeExporter": {"enabled": False}},
        {"prometheus-node-exporter": {"namespaceOverride": "host-agents"}},
    ],
    ids=["annotation-opt-out", "node-exporter-disabled", "namespace-override-not-injected"],
)
def test_kps_variants_that_pass(values: dict[str, Any]) -> None:
    assert run_stack(NODE_EXPORTER, [namespace("monitoring"), namespace("host-agents", "disabled"), kps(values)]) == []


def test_kps_in_a_namespace_without_injection_passes() -> None:
    assert run_stack(NODE_EXPORTER, [namespace("monitoring", "disabled"), kps({})]) == []


def test_revision_label_counts_as_injection() -> None:
    ns = resource(P + "ns", NAMESPACE, {"metadata": {"name": "monitoring", "labels": {"istio.io/rev": "stable"}}})
    assert len(run_stack(NODE_EXPORTER, [ns, kps({})])) == 1


def node_exporter_daemonset(labels: dict[str, str], ns: Any = "monitoring") -> dict[str, Any]:
    return resource(P + "ne", "kubernetes:apps/v1:DaemonSet", {
        "metadata": {"name": "node-exporter", "namespace": ns},
        "spec": {"template": {"metadata": {"labels": {"app.kubernetes.io/name": "prometheus-node-exporter", **labels}},
                              "spec": {"hostNetwork": True, "containers": []}}},
    })


def test_raw_daemonset_with_opt_out_label_passes() -> None:
    assert run_stack(NODE_EXPORTER, [namespace("monitoring"), node_exporter_daemonset(OPT_OUT)]) == []


def test_raw_daemonset_without_opt_out_fails() -> None:
    [(message, _)] = run_stack(NODE_EXPORTER, [namespace("monitoring"), node_exporter_daemonset({})])
    assert "node-exporter DaemonSet 'node-exporter' would get an Istio sidecar" in message


def test_raw_daemonset_in_unknown_namespace_needs_the_opt_out() -> None:
    [(message, _)] = run_stack(NODE_EXPORTER, [node_exporter_daemonset({}, ns=UNKNOWN_STRING_VALUE)])
    assert "not known during preview" in message


# ---------------------------------------------------------------------------------------------
# 5. vLLM --gpu-memory-utilization
# ---------------------------------------------------------------------------------------------

GPU = vllm_gpu_memory.POLICY


def with_args(args: list[str], kind: str = "Deployment") -> dict[str, Any]:
    return workload(kind, {**GOOD_CONTAINER, "args": args, "env": []})


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["--gpu-memory-utilization=1.0"], "1 is outside (0, 1)"),
        (["--gpu-memory-utilization", "0"], "0 is outside (0, 1)"),
        (["--gpu-memory-utilization", "1.2"], "1.2 is outside (0, 1)"),
        (["--gpu-memory-utilization=ninety"], "'ninety' is not a number"),
        (["vllm serve Qwen/Qwen2.5-3B-Instruct --gpu-memory-utilization 1.5"], "1.5 is outside (0, 1)"),
    ],
)
def test_out_of_range_argument_fails(args: list[str], why: str) -> None:
    [message] = run_resource(GPU, DEPLOYMENT, with_args(args))
    assert f"--gpu-memory-utilization {why}" in message and "0.9" in message


@pytest.mark.parametrize(
    ("kind", "token"),
    [("StatefulSet", "apps/v1"), ("DaemonSet", "apps/v1"), ("Job", "batch/v1"), ("Pod", "core/v1"),
     ("CronJob", "batch/v1")],
)
def test_every_workload_kind_is_checked(kind: str, token: str) -> None:
    resource_type = f"kubernetes:{token}:{kind}"
    assert run_resource(GPU, resource_type, with_args(["--gpu-memory-utilization=0.95"], kind)) == []
    assert len(run_resource(GPU, resource_type, with_args(["--gpu-memory-utilization=1"], kind))) == 1


def test_env_form_out_of_range_fails() -> None:
    props = mutate(GOOD_DEPLOYMENT, lambda p: container_of(p)["env"].__setitem__(
        2, {"name": "VLLM_GPU_MEMORY_UTILIZATION", "value": "1.5"}))
    [message] = run_resource(GPU, DEPLOYMENT, props)
    assert "VLLM_GPU_MEMORY_UTILIZATION 1.5 is outside (0, 1)" in message


def test_non_vllm_image_is_not_judged() -> None:
    props = with_args(["--gpu-memory-utilization=1.5"])
    container_of(props)["image"] = "ghcr.io/example/other-engine:1.0"
    assert run_resource(GPU, DEPLOYMENT, props) == []


@pytest.mark.parametrize(
    "values",
    [
        {"vllmConfig": {"gpuMemoryUtilization": 1.0}},
        {"servingEngine": {"extraArgs": ["--gpu-memory-utilization", "2"]}},
    ],
)
def test_chart_values_out_of_range_fail(values: dict[str, Any]) -> None:
    [message] = run_resource(GPU, CHART, {"chart": "vllm-stack", "values": values})
    assert "Helm values of 'vllm-stack'" in message and "outside (0, 1)" in message


# ---------------------------------------------------------------------------------------------
# 6a. Secret data from Pulumi secrets
# ---------------------------------------------------------------------------------------------

SECRET_DATA = secret_literal_data.POLICY
MARKER = {"secretMarker": "[secret]"}


def secret(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, **fields}


def test_plaintext_under_pulumi_preview_is_not_judged_a_literal() -> None:
    """pulumi preview unwraps secrets: a random password and a literal look alike, so neither is flagged."""
    assert run_resource(SECRET_DATA, SECRET, secret(stringData={"password": "Zq8-random-4Tn"})) == []


def test_a_generated_secret_without_digits_is_not_judged_weak() -> None:
    """Random letters with no digit are word-shaped; judged on the letters, they are not typed."""
    assert run_resource(SECRET_DATA, SECRET, secret(stringData={"salt": "QnRsTfkzhWpLmaxcVbDeyGuoPtrzKjsa"})) == []
    [message] = run_resource(SECRET_DATA, SECRET, secret(stringData={"salt": "WelcomeToTheCluster"}))
    assert "weak (human-typed, not generated) credential in stringData.salt" in message


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"stringData": {"admin-password": "prom-operator"}}, "stringData.admin-password"),
        ({"data": {"password": base64.b64encode(b"changeme").decode()}}, "data.password"),
    ],
)
def test_well_known_default_passwords_fail(fields: dict[str, Any], where: str) -> None:
    [message] = run_resource(SECRET_DATA, SECRET, secret(**fields))
    assert f"Secret 'creds' holds a well-known default password in {where}" in message
    assert "RandomPassword" in message


def test_default_looking_non_password_keys_pass() -> None:
    assert run_resource(SECRET_DATA, SECRET, secret(stringData={"admin-user": "admin"})) == []


@pytest.mark.parametrize("string_data", ["[secret]", {"token": "[secret]"}])
def test_marked_secrets_pass_when_the_host_marks_them(string_data: Any) -> None:
    assert run_resource(SECRET_DATA, SECRET, secret(stringData=string_data), config=MARKER) == []


def test_literals_fail_when_the_host_marks_secrets() -> None:
    props = secret(stringData={"token": "[secret]", "password": "typed-in", "username": "langfuse"})
    [message] = run_resource(SECRET_DATA, SECRET, props, config=MARKER)
    # judged per key: the literal password is refused, the Pulumi secret and the user name are not
    assert "holds literal values in stringData.password:" in message


def test_literal_secret_in_a_yaml_group_fails() -> None:
    objs = [secret(stringData={"token": "typed-in"}), {"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}}]
    [message] = run_resource(SECRET_DATA, CONFIG_GROUP, {"objs": objs}, config=MARKER)
    assert "stringData.token" in message


# ---------------------------------------------------------------------------------------------
# 6b. Credential env vars
# ---------------------------------------------------------------------------------------------

ENV = env_literal_credentials.POLICY


def with_env(name: str, value: str) -> dict[str, Any]:
    return mutate(GOOD_DEPLOYMENT, lambda p: container_of(p)["env"].append({"name": name, "value": value}))


@pytest.mark.parametrize("name", ["HF_TOKEN", "OPENAI_API_KEY", "DB_PASSWORD", "LANGFUSE_SECRET_KEY", "SECRET"])
def test_credential_named_env_with_a_value_fails(name: str) -> None:
    [message] = run_resource(ENV, DEPLOYMENT, with_env(name, "x"))
    assert f"container 'vllm' sets {name} as a literal value" in message and "secretKeyRef" in message


def test_pulumi_secret_as_env_value_passes() -> None:
    """A value from a Pulumi secret is fine (issue 17); the offline host marks it, the literal twin fails."""
    assert run_resource(ENV, DEPLOYMENT, with_env("HF_TOKEN", "[secret]"), config=MARKER) == []
    assert len(run_resource(ENV, DEPLOYMENT, with_env("HF_TOKEN", "typed-in"), config=MARKER)) == 1


@pytest.mark.parametrize("name", ["TOKENIZERS_PARALLELISM", "HF_TOKEN_PATH", "SECRET_NAME", "KEY_ROTATION_DAYS"])
def test_names_that_only_mention_a_credential_word_pass(name: str) -> None:
    assert run_resource(ENV, DEPLOYMENT, with_env(name, "x")) == []


def test_allowed_names_config_exempts_a_name() -> None:
    props = with_env("SIGNING_KEY", "pk")
    assert len(run_resource(ENV, DEPLOYMENT, props)) == 1
    assert run_resource(ENV, DEPLOYMENT, props, config={"allowedNames": ["SIGNING_KEY"]}) == []


@pytest.mark.parametrize(
    "values",
    [{"proxy": {"extraEnv": [{"name": "MASTER_KEY", "value": "sk"}]}}, {"env": {"MASTER_KEY": "sk"}}],
)
def test_chart_values_env_literals_fail(values: dict[str, Any]) -> None:
    [message] = run_resource(ENV, CHART, {"chart": "litellm-helm", "values": values})
    assert "Helm values of 'litellm-helm' set MASTER_KEY as a literal" in message


# ---------------------------------------------------------------------------------------------
# 6c. Credential-shaped strings anywhere
# ---------------------------------------------------------------------------------------------

CREDENTIALS = credential_literals.POLICY
SAMPLES = {  # assembled from parts so no scanner mistakes this file for a leak
    "a Hugging Face token": "hf_" + "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3k",
    "an OpenAI-style API key": "sk-proj-" + "Ab3De5Gh7Jk9Mn1Pq3St5Vx7Za9Ce1",
    "a GitHub token": "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kL5",
    "an AWS access key id": "AKIA" + "Z7QX2M4N6P8R0T2V",
    "a Slack webhook URL": "https://hooks.slack.com/services/" + "T0ABC1DEF/B0GHI2JKL/xYz3AbC4dEf5GhI6",
    "a private key": "-----BEGIN " + "OPENSSH PRIVATE KEY-----\nb3Blbn==\n-----END OPENSSH PRIVATE KEY-----",
}


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_credential_shapes_fail_without_echoing_the_value(kind: str) -> None:
    props = mutate(GOOD_DEPLOYMENT, lambda p: container_of(p)["args"].append(f"--token={SAMPLES[kind]}"))
    [message] = run_resource(CREDENTIALS, DEPLOYMENT, props)
    assert f"spec.template.spec.containers[0].args[4] holds what looks like {kind}" in message
    assert SAMPLES[kind] not in message


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_credentials_in_chart_values_fail(kind: str) -> None:
    [message] = run_resource(CREDENTIALS, CHART, {"chart": "alertmanager", "values": {"config": {"x": SAMPLES[kind]}}})
    assert f"values.config.x holds what looks like {kind}" in message


@pytest.mark.parametrize(
    "text", ["disk-pressure-eviction-threshold-long", "sk-short1", "hf_short", "https://hooks.slack.com/"]
)
def test_lookalikes_pass(text: str) -> None:
    assert run_resource(CREDENTIALS, "kubernetes:core/v1:ConfigMap", {"data": {"a": text}}) == []


def test_secret_payloads_and_provider_config_are_not_scanned() -> None:
    assert run_resource(CREDENTIALS, SECRET, secret(stringData={"token": SAMPLES["a Hugging Face token"]})) == []
    assert run_resource(CREDENTIALS, "pulumi:providers:kubernetes", {"kubeconfig": SAMPLES["a private key"]}) == []
    annotated = secret(metadata={"name": "s", "annotations": {"note": SAMPLES["a GitHub token"]}})
    assert len(run_resource(CREDENTIALS, SECRET, annotated)) == 1


def test_pulumi_secret_in_chart_values_fails() -> None:
    [message] = run_resource(CREDENTIALS, CHART, {"chart": "langfuse", "values": {"auth": {"password": "[secret]"}}})
    assert "carry a Pulumi secret at values.auth.password" in message


# ---------------------------------------------------------------------------------------------
# 7. vLLM only on Kubernetes
# ---------------------------------------------------------------------------------------------

DOCKER = vllm_kubernetes_only.POLICY


@pytest.mark.parametrize(
    ("type_", "props"),
    [
        ("docker:index/container:Container", {"image": "vllm/vllm-openai:v0.10.1"}),
        ("docker:index/container:Container", {"image": "python:3.12", "command": ["vllm", "serve", "m"]}),
        ("docker:index/service:Service", {"taskSpec": {"containerSpec": {"image": "vllm/vllm-openai:v0.10.1"}}}),
    ],
)
def test_docker_provider_running_vllm_fails(type_: str, props: dict[str, Any]) -> None:
    [message] = run_resource(DOCKER, type_, props)
    assert "Kubernetes workload, not a Docker provider container" in message


def test_other_docker_containers_and_k8s_vllm_pass() -> None:
    assert run_resource(DOCKER, "docker:index/container:Container", {"image": "nginx:1.27"}) == []
    assert run_resource(DOCKER, DEPLOYMENT, GOOD_DEPLOYMENT) == []


# ---------------------------------------------------------------------------------------------
# Advisory
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "state"),
    [("vllm/vllm-openai", "has no tag"), ("vllm/vllm-openai:latest", "uses :latest"),
     ("localhost:5000/engine", "has no tag")],
)
def test_unpinned_images_fail(image: str, state: str) -> None:
    props = mutate(GOOD_DEPLOYMENT, lambda p: container_of(p).__setitem__("image", image))
    [message] = run_resource(image_pinned.POLICY, DEPLOYMENT, props)
    assert f"image '{image}' {state}" in message


def test_digest_pinned_image_and_chart_tags() -> None:
    props = mutate(GOOD_DEPLOYMENT, lambda p: container_of(p).__setitem__("image", "vllm/vllm-openai@sha256:abc"))
    assert run_resource(image_pinned.POLICY, DEPLOYMENT, props) == []
    assert run_resource(image_pinned.POLICY, CHART, {"chart": "tempo", "values": {"image": {"tag": ""}}}) == []
    [message] = run_resource(image_pinned.POLICY, CHART, {"chart": "tempo", "values": {"image": {"tag": "latest"}}})
    assert "image.tag: latest" in message


@pytest.mark.parametrize("missing", ["requests.cpu", "limits.memory"])
def test_missing_resources_fail(missing: str) -> None:
    group, key = missing.split(".")
    props = mutate(GOOD_DEPLOYMENT, lambda p: container_of(p)["resources"][group].pop(key))
    [message] = run_resource(container_resources.POLICY, DEPLOYMENT, props)
    assert f"container 'vllm' has no resources.{missing}:" in message


def test_init_containers_need_resources_too() -> None:
    props = mutate(GOOD_DEPLOYMENT, lambda p: p["spec"]["template"]["spec"].__setitem__(
        "initContainers", [{"name": "fetch", "image": "busybox:1.36"}]))
    [message] = run_resource(container_resources.POLICY, DEPLOYMENT, props)
    assert "container 'fetch'" in message


def test_missing_probes_fail_on_long_running_workloads_only() -> None:
    props = mutate(GOOD_DEPLOYMENT, lambda p: container_of(p).pop("livenessProbe"))
    [message] = run_resource(workload_probes.POLICY, DEPLOYMENT, props)
    assert "has no livenessProbe" in message
    job = workload("Job", {"name": "once", "image": "busybox:1.36"})
    assert run_resource(workload_probes.POLICY, "kubernetes:batch/v1:Job", job) == []


def service(type_: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "svc", "labels": labels or {}}, "spec": {"type": type_}}


def test_load_balancer_services() -> None:
    policy, token = no_load_balancer.POLICY, "kubernetes:core/v1:Service"
    assert run_resource(policy, token, service("ClusterIP")) == []
    [message] = run_resource(policy, token, service("LoadBalancer"))
    assert "Service 'svc' is of type LoadBalancer but is not the gateway's" in message
    gateway = service("LoadBalancer", {"gateway.networking.k8s.io/gateway-name": "platform"})
    assert run_resource(policy, token, gateway) == []
    assert len(run_resource(policy, token, gateway, config={"gatewayLabels": ["team=edge"]})) == 1


def test_load_balancer_in_chart_values() -> None:
    values = {"service": {"type": "LoadBalancer"}}
    [message] = run_resource(no_load_balancer.POLICY, CHART, {"chart": "grafana", "values": values})
    assert "values.service.type: LoadBalancer" in message
    assert run_resource(no_load_balancer.POLICY, CHART, {"chart": "gateway", "values": values}) == []


PVC = "kubernetes:core/v1:PersistentVolumeClaim"


def pvc_opts(retain: bool | None) -> PolicyResourceOptions:
    opts = options()
    if retain is not None:
        opts.retain_on_delete = retain  # type: ignore[attr-defined]
    return opts


def test_pvc_retention() -> None:
    policy, claim = pvc_retained.POLICY, {"metadata": {"name": "models"}}
    assert run_resource(policy, PVC, claim, opts=pvc_opts(True)) == []
    [message] = run_resource(policy, PVC, claim, opts=pvc_opts(False))
    assert "PersistentVolumeClaim 'models' is deleted with the stack" in message
    kept = {"metadata": {"name": "models", "annotations": {"helm.sh/resource-policy": "keep"}}}
    assert run_resource(policy, PVC, kept, opts=pvc_opts(None)) == []


def test_pvc_retention_is_not_applicable_when_the_engine_hides_it() -> None:
    with pytest.raises(_NotApplicableError) as raised:
        run_resource(pvc_retained.POLICY, PVC, {"metadata": {"name": "models"}}, opts=pvc_opts(None))
    assert "not visible" in str(raised.value.reason)


def test_statefulset_deleting_its_claims_fails() -> None:
    props = {"metadata": {"name": "tempo"}, "spec": {
        "volumeClaimTemplates": [{"metadata": {"name": "data"}}],
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete"},
        "template": {"spec": {"containers": []}}}}
    [message] = run_resource(pvc_retained.POLICY, "kubernetes:apps/v1:StatefulSet", props)
    assert "whenDeleted: Delete" in message
