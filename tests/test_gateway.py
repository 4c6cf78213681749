"""GatewayRoutes and the gateway wiring checks: routes attach, hostnames match, backends resolve and are granted.

Most tests run a small program that deploys the real IstioMesh and GatewayRoutes in front of
stand-in backends (the charts the real components use, with the same ``fullnameOverride``s, and
plain Services), then break one link of the plan on purpose and expect the matching finding.
Tests over the full program's ``dev`` and ``gpu`` plans close the loop.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

import config
from components.gateway_routes import GATEWAY_NAME
from offline.checks import gateway as checks
from offline.plan import Finding, Plan, Resource
from offline.runner import run_program

FIXTURES = Path(__file__).parent / "fixtures" / "gateway_api"

HARNESS = '''
import pulumi
import pulumi_kubernetes as k8s

import config
from components.contracts import ServiceRef
from components.gateway_routes import Backends, GatewayRoutes, GatewayRoutesArgs
from components.istio_mesh import IstioMesh
from tests.support import engine_endpoint, mesh_args

cfg, secrets = config.load()
ns = cfg.namespaces
otlp_grpc = ServiceRef("otel-collector", ns.tracing, 4317, "grpc")
mesh = IstioMesh("mesh", mesh_args(cfg, otlp_grpc))
after = pulumi.ResourceOptions(depends_on=[mesh])
k8s.helm.v4.Chart("monitoring", chart="kube-prometheus-stack", namespace=ns.monitoring, opts=after,
                  values={"fullnameOverride": "kps", "grafana": {"fullnameOverride": "grafana"}})
k8s.helm.v4.Chart("tempo", chart="tempo", namespace=ns.tracing, values={"fullnameOverride": "tempo"}, opts=after)
k8s.helm.v4.Chart("collector", chart="opentelemetry-collector", namespace=ns.tracing, opts=after,
                  values={"fullnameOverride": "otel-collector", "mode": "deployment"})
engines = [engine_endpoint(cfg, engine) for engine in cfg.engines()]
for service in [e.service for e in engines] + [ServiceRef("litellm", ns.litellm, 4000)]:
    k8s.core.v1.Service(service.name, metadata={"name": service.name, "namespace": service.namespace},
                        spec={"ports": [{"name": "http", "port": service.port}]}, opts=after)
cert_manager = [k8s.helm.v4.Chart("cert-manager", chart="cert-manager", namespace="cert-manager", values={})]
routes = GatewayRoutes("gateway", GatewayRoutesArgs(
    settings=cfg.gateway, namespace=ns.istio, primary_engine=cfg.engine, backends=Backends(
    grafana=ServiceRef("grafana", ns.monitoring, 80), prometheus=ServiceRef("kps-prometheus", ns.monitoring, 9090),
    tempo=ServiceRef("tempo", ns.tracing, 3200), otlp_grpc=otlp_grpc,
    otlp_http=ServiceRef("otel-collector", ns.tracing, 4318), engines=engines,
    langfuse=None, litellm=ServiceRef("litellm", ns.litellm, 4000),
)), pulumi.ResourceOptions(depends_on=[mesh, mesh.gateway_api_crds, *(cert_manager if WAIT_CERT_MANAGER else [])]))
# The component's outputs, made visible in the plan.
k8s.core.v1.ConfigMap("exposure", metadata={"name": "exposure", "namespace": ns.istio},
                      data={"etcHosts": routes.etc_hosts_line, "address": routes.address})
'''

_HARNESS_PLANS: dict[tuple[str, str], Plan] = {}
DIRECT_ROUTE = {"gateway.directEngineRoute": '{"enabled": true, "allowedCidrs": ["192.168.0.0/16"]}'}
"""The harness opts into ``llm.<domain>`` (off by default) so the engine routes are under test too."""


def harness_plan(tmp_path_factory: pytest.TempPathFactory, overrides: dict[str, str] | None = None,
                 extra: str = "") -> Plan:
    """Plan of the harness program on the dev stack (cached per overrides)."""
    overrides = {**DIRECT_ROUTE, **(overrides or {})}
    key = (json.dumps(overrides, sort_keys=True), extra)
    if key not in _HARNESS_PLANS:
        program = tmp_path_factory.mktemp("harness") / "harness.py"
        program.write_text(HARNESS.replace("WAIT_CERT_MANAGER", str("NO_CERT_MANAGER_WAIT" not in extra)) + extra)
        _HARNESS_PLANS[key] = run_program("dev", overrides, program=program)
    return copy.deepcopy(_HARNESS_PLANS[key])


@pytest.fixture
def plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    return harness_plan(tmp_path_factory)


def gateway_findings(plan: Plan) -> list[Finding]:
    return [f for check in checks.CHECKS for f in check(plan)]


def k8s_object(plan: Plan, kind: str, name: str) -> Resource:
    (found,) = [r for r in plan.resources if r.is_kubernetes_object and r.kind == kind and r.k8s_name == name]
    return found


def only_finding(plan: Plan, check: str, *fragments: str) -> Finding:
    findings = gateway_findings(plan)
    assert [f.check for f in findings] == [check], findings
    for fragment in fragments:
        assert fragment in findings[0].message, findings[0].message
    return findings[0]


# ---------------------------------------------------------------------------------------------
# Broken on purpose: each break gives its finding
# ---------------------------------------------------------------------------------------------


def test_harness_plan_has_no_findings(plan: Plan) -> None:
    assert gateway_findings(plan) == []


def test_wrong_section_name(plan: Plan) -> None:
    route = k8s_object(plan, "HTTPRoute", "grafana")
    route.inputs["spec"]["parentRefs"][0]["sectionName"] = "web"
    finding = only_finding(plan, "gateway-route-parents", "no listener with sectionName=web", "http/80")
    assert finding.urn == route.urn


def test_wrong_listener_port(plan: Plan) -> None:
    route = k8s_object(plan, "GRPCRoute", "otlp-grpc")
    route.inputs["spec"]["parentRefs"][0]["port"] = 4318
    only_finding(plan, "gateway-route-parents", "sectionName=otlp-grpc port=4318")


def test_listener_refuses_route_kind(plan: Plan) -> None:
    route = k8s_object(plan, "GRPCRoute", "otlp-grpc")
    route.inputs["spec"]["parentRefs"][0]["sectionName"] = "otlp-http"
    only_finding(plan, "gateway-route-parents", "allows only ['HTTPRoute'], not GRPCRoute")


def test_listener_refuses_route_namespace(plan: Plan) -> None:
    route = k8s_object(plan, "HTTPRoute", "tempo")
    route.inputs["metadata"]["namespace"] = "tracing"
    route.inputs["spec"]["parentRefs"][0]["namespace"] = "istio-system"
    only_finding(plan, "gateway-route-parents", "admits routes from namespace istio-system only, not tracing")


def test_hostname_mismatch(plan: Plan) -> None:
    route = k8s_object(plan, "HTTPRoute", "prometheus")
    route.inputs["spec"]["hostnames"] = ["prometheus.example.com"]
    only_finding(plan, "gateway-route-parents", "prometheus.example.com does not match", "*.local")


def test_missing_gateway(plan: Plan) -> None:
    route = k8s_object(plan, "HTTPRoute", "grafana")
    route.inputs["spec"]["parentRefs"][0]["name"] = "public"
    only_finding(plan, "gateway-route-parents", "Gateway istio-system/public, which the program does not create")


def test_missing_reference_grant(plan: Plan) -> None:
    grant = next(r for r in plan.resources if r.kind == "ReferenceGrant" and r.namespace == "monitoring")
    plan.resources.remove(grant)
    findings = gateway_findings(plan)
    assert {f.check for f in findings} == {"gateway-route-backends"}
    assert sorted(f.message.split(":")[0] for f in findings) == [
        "HTTPRoute istio-system/grafana", "HTTPRoute istio-system/prometheus"
    ]
    assert all("without a ReferenceGrant in monitoring" in f.message for f in findings)


def test_reference_grant_for_another_kind_does_not_count(plan: Plan) -> None:
    grant = next(r for r in plan.resources if r.kind == "ReferenceGrant" and r.namespace == "litellm")
    grant.inputs["spec"]["from"][0]["kind"] = "GRPCRoute"
    only_finding(plan, "gateway-route-backends", "istio-system/litellm", "RefNotPermitted")


def test_wrong_backend_port(plan: Plan) -> None:
    route = k8s_object(plan, "HTTPRoute", "grafana")
    route.inputs["spec"]["rules"][0]["backendRefs"][0]["port"] = 3000
    only_finding(plan, "gateway-route-backends", "monitoring/grafana:3000", "has no port 3000 (ports: [80])")


def test_unknown_backend_service(plan: Plan) -> None:
    route = k8s_object(plan, "HTTPRoute", "tempo")
    route.inputs["spec"]["rules"][0]["backendRefs"][0]["name"] = "tempo-query"
    findings = gateway_findings(plan)
    messages = [f.message for f in findings]
    assert any("tracing/tempo-query:3200: no such Service" in m for m in messages), messages
    # The grant names Services exactly, so it does not cover the new name either.
    assert any("without a ReferenceGrant in tracing" in m for m in messages), messages


def test_grpc_backend_needs_grpc_app_protocol(plan: Plan) -> None:
    collector = next(c for c in plan.charts() if c.name == "collector")
    collector.inputs["values"]["ports"] = {"otlp": {"appProtocol": None}}
    only_finding(plan, "gateway-route-backends", "tracing/otel-collector:4317", "not 'grpc'")


def test_istiod_without_crd_dependency(plan: Plan) -> None:
    istiod = next(c for c in plan.charts() if checks.chart_name(c) == "istiod")
    istiod.dependencies = []
    only_finding(plan, "gateway-api-crds-first", "istiod mesh-istiod does not depend on the Gateway API CRD bundle")


def test_route_without_crd_dependency(plan: Plan) -> None:
    route = k8s_object(plan, "HTTPRoute", "llm")
    gateway = k8s_object(plan, "Gateway", GATEWAY_NAME)
    route.dependencies = [gateway.urn]
    gateway.dependencies = []
    findings = gateway_findings(plan)
    assert {(f.check, f.urn) for f in findings} == {
        ("gateway-api-crds-first", route.urn), ("gateway-api-crds-first", gateway.urn)
    }


MISORDERED = '''
import pulumi_kubernetes as k8s
crds = k8s.yaml.v2.ConfigFile("mesh-gateway-api-crds", file="gateway-api.yaml")
base = k8s.helm.v4.Chart("base", chart="base", namespace="istio-system", opts=pulumi.ResourceOptions(depends_on=[crds]))
k8s.helm.v4.Chart("istiod", chart="istiod", namespace="istio-system",
                  opts=pulumi.ResourceOptions(depends_on=[DEPENDS_ON]))
'''


@pytest.mark.parametrize("depends_on, expected", [("base", []), ("", ["gateway-api-crds-first"])])
def test_istiod_order_in_a_program(tmp_path: Path, depends_on: str, expected: list[str]) -> None:
    program = tmp_path / "prog.py"
    program.write_text("import pulumi\n" + MISORDERED.replace("DEPENDS_ON", depends_on))
    plan = run_program("dev", program=program)
    assert [f.check for f in checks.check_gateway_api_crds_first(plan)] == expected


# ---------------------------------------------------------------------------------------------
# What the component builds
# ---------------------------------------------------------------------------------------------


def test_listeners_and_exposure(plan: Plan) -> None:
    spec = k8s_object(plan, "Gateway", GATEWAY_NAME).inputs["spec"]
    assert spec["gatewayClassName"] == "istio"
    assert [(lst["name"], lst["port"], lst["protocol"], lst.get("hostname")) for lst in spec["listeners"]] == [
        ("http", 80, "HTTP", "*.local"), ("otlp-grpc", 4317, "HTTP", None), ("otlp-http", 4318, "HTTP", None)
    ]
    options = k8s_object(plan, "ConfigMap", "main-gateway-options")
    assert spec["infrastructure"]["parametersRef"] == {"group": "", "kind": "ConfigMap", "name": options.k8s_name}
    assert "type: LoadBalancer" in options.inputs["data"]["service"]
    exposure = k8s_object(plan, "ConfigMap", "exposure").inputs["data"]
    hosts = "grafana.local prometheus.local tempo.local litellm.local llm.local"
    assert exposure["etcHosts"] == f"{exposure['address']} {hosts}"
    assert exposure["address"] == "192.0.2.10"


def test_up_awaits_the_programmed_gateway(tmp_path_factory: pytest.TempPathFactory, plan: Plan) -> None:
    annotations = k8s_object(plan, "Gateway", GATEWAY_NAME).metadata["annotations"]
    assert annotations == {"pulumi.com/waitFor": "condition=Programmed"}
    lab = harness_plan(tmp_path_factory, {"gateway.awaitProgrammed": "false"})
    # no empty map either: the API server drops it, and every preview after `up` would show a diff
    assert "annotations" not in k8s_object(lab, "Gateway", GATEWAY_NAME).metadata


def test_llm_routes_do_not_time_out_streams(plan: Plan) -> None:
    for name in ("litellm", "llm"):
        assert k8s_object(plan, "HTTPRoute", name).inputs["spec"]["rules"][0]["timeouts"] == {"request": "0s"}
    assert "timeouts" not in k8s_object(plan, "HTTPRoute", "grafana").inputs["spec"]["rules"][0]


def test_llm_timeout_from_config(tmp_path_factory: pytest.TempPathFactory) -> None:
    plan = harness_plan(tmp_path_factory, {"gateway.llmRequestTimeout": "15m"})
    assert k8s_object(plan, "HTTPRoute", "llm").inputs["spec"]["rules"][0]["timeouts"] == {"request": "15m"}


def test_canary_is_weighted_backend_refs(tmp_path_factory: pytest.TempPathFactory) -> None:
    overrides = {"engine": "vllm", "gpu.enabled": "true", "sglang.enabled": "true",
                 "gateway.canary": '{"primary": "vllm", "canary": "sglang", "percent": 25}'}
    plan = harness_plan(tmp_path_factory, overrides)
    refs = k8s_object(plan, "HTTPRoute", "llm").inputs["spec"]["rules"][0]["backendRefs"]
    assert [(r["name"], r["weight"]) for r in refs] == [("vllm", 75), ("sglang", 25)]
    assert gateway_findings(plan) == []


def test_reference_grants_are_least_privilege(plan: Plan) -> None:
    grants = {r.namespace: r.inputs["spec"] for r in plan.resources if r.kind == "ReferenceGrant"}
    assert set(grants) == {"monitoring", "tracing", "litellm", "llm"}
    from_istio = {"group": "gateway.networking.k8s.io", "namespace": "istio-system"}
    assert grants["tracing"]["from"] == [{**from_istio, "kind": "GRPCRoute"}, {**from_istio, "kind": "HTTPRoute"}]
    assert [t["name"] for t in grants["tracing"]["to"]] == ["otel-collector", "tempo"]
    assert grants["monitoring"]["from"] == [{**from_istio, "kind": "HTTPRoute"}]
    assert [t["name"] for t in grants["monitoring"]["to"]] == ["grafana", "kps-prometheus"]


def test_admin_ui_restriction(tmp_path_factory: pytest.TempPathFactory, plan: Plan) -> None:
    policy = k8s_object(plan, "AuthorizationPolicy", "admin-uis-source-ranges").inputs["spec"]
    assert policy["action"] == "DENY"
    assert policy["targetRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": GATEWAY_NAME}]
    rule = policy["rules"][0]
    assert rule["from"] == [{"source": {"notRemoteIpBlocks": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                                              "127.0.0.0/8"]}}]
    assert {h.split(":")[0] for h in rule["to"][0]["operation"]["hosts"]} == {
        "grafana.local", "prometheus.local", "tempo.local"
    }
    open_plan = harness_plan(tmp_path_factory, {"gateway.restrictAdminUis": "false"})
    assert [r.k8s_name for r in open_plan.resources if r.kind == "AuthorizationPolicy"] == ["ingress-guards"]


def test_ingress_guards_close_remote_write_and_limit_otlp_and_the_engine_route(plan: Plan) -> None:
    """Ways in without a login of their own: each has a DENY rule on the Gateway."""
    policy = k8s_object(plan, "AuthorizationPolicy", "ingress-guards").inputs["spec"]
    assert policy["action"] == "DENY"
    write, otlp, llm = policy["rules"]
    assert "from" not in write and write["to"][0]["operation"]["paths"] == ["/api/v1/write", "/api/v1/otlp/*"]
    assert otlp["to"][0]["operation"]["ports"] == ["4317", "4318"]
    assert otlp["from"][0]["source"]["notRemoteIpBlocks"] == ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                                              "127.0.0.0/8"]
    assert llm["from"][0]["source"]["notRemoteIpBlocks"] == ["192.168.0.0/16"]
    assert {h.split(":")[0] for h in llm["to"][0]["operation"]["hosts"]} == {"llm.local"}


def test_the_direct_engine_route_is_off_by_default(any_plan: Plan) -> None:
    routes = {r.k8s_name for r in any_plan.resources if r.is_kubernetes_object and r.kind == "HTTPRoute"}
    assert "llm" not in routes
    (guards,) = [r for r in any_plan.resources if r.kind == "AuthorizationPolicy" and r.k8s_name == "ingress-guards"]
    assert len(guards.inputs["spec"]["rules"]) == 2  # remote write, OTLP source ranges


HTTPS = {"gateway.https.enabled": "true"}
ACME = {**HTTPS, "gateway.baseDomain": "lab.example.com", "gateway.https.acmeEmail": "ops@example.com"}


def test_https_listener_and_certificate(tmp_path_factory: pytest.TempPathFactory) -> None:
    plan = harness_plan(tmp_path_factory, HTTPS)
    listeners = {lst["name"]: lst for lst in k8s_object(plan, "Gateway", GATEWAY_NAME).inputs["spec"]["listeners"]}
    assert listeners["https"]["port"] == 443
    assert listeners["https"]["tls"]["certificateRefs"][0]["name"] == "platform-gateway-tls"
    certificate = k8s_object(plan, "Certificate", "platform-gateway").inputs["spec"]
    assert certificate["secretName"] == "platform-gateway-tls"
    assert "llm.local" in certificate["dnsNames"]
    assert k8s_object(plan, "ClusterIssuer", "platform-selfsigned").inputs["spec"] == {"selfSigned": {}}
    assert gateway_findings(plan) == []


def _host_routes(plan: Plan) -> dict[str, Resource]:
    return {r.k8s_name: r for r in plan.resources if r.is_kubernetes_object and r.kind == "HTTPRoute"
            and r.k8s_name not in ("otlp-http", "https-redirect")}


def test_with_https_port_80_only_redirects_every_host(tmp_path_factory: pytest.TempPathFactory, plan: Plan) -> None:
    secure = harness_plan(tmp_path_factory, HTTPS)
    redirect = k8s_object(secure, "HTTPRoute", "https-redirect").inputs["spec"]
    assert [p["sectionName"] for p in redirect["parentRefs"]] == ["http"]
    assert redirect["rules"] == [{"filters": [{"type": "RequestRedirect",
                                               "requestRedirect": {"scheme": "https", "statusCode": 301}}]}]
    routes = _host_routes(secure)
    assert sorted(redirect["hostnames"]) == sorted(h for r in routes.values() for h in r.inputs["spec"]["hostnames"])
    # The HTTPS routes carry what the HTTP routes carried (retries, the LLM timeout), on 443 only.
    for name, route in _host_routes(plan).items():
        assert [p["sectionName"] for p in route.inputs["spec"]["parentRefs"]] == ["http"]
        assert [p["sectionName"] for p in routes[name].inputs["spec"]["parentRefs"]] == ["https"]
        assert routes[name].inputs["spec"]["rules"] == route.inputs["spec"]["rules"], name
    # OTLP keeps its own listener; without HTTPS there is no redirect at all.
    assert [p["sectionName"] for p in k8s_object(secure, "HTTPRoute", "otlp-http").inputs["spec"]["parentRefs"]] == [
        "otlp-http"]
    assert not [r for r in plan.resources if r.is_kubernetes_object and r.kind == "HTTPRoute"
                and "RequestRedirect" in json.dumps(r.inputs)]


def test_a_route_serving_on_port_80_beside_https_is_a_finding(tmp_path_factory: pytest.TempPathFactory) -> None:
    plan = harness_plan(tmp_path_factory, HTTPS)
    grafana = k8s_object(plan, "HTTPRoute", "grafana")
    grafana.inputs["spec"]["parentRefs"].append({**grafana.inputs["spec"]["parentRefs"][0], "sectionName": "http"})
    finding = only_finding(plan, "gateway-https-redirect", "HTTPRoute istio-system/grafana answers on port 80")
    assert finding.urn == grafana.urn


def test_a_host_left_out_of_the_redirect_is_a_finding(tmp_path_factory: pytest.TempPathFactory) -> None:
    plan = harness_plan(tmp_path_factory, HTTPS)
    k8s_object(plan, "HTTPRoute", "https-redirect").inputs["spec"]["hostnames"].remove("tempo.local")
    only_finding(plan, "gateway-https-redirect", "tempo.local is served over HTTPS", "does not redirect it")


def test_certificate_waits_for_cert_manager(tmp_path_factory: pytest.TempPathFactory) -> None:
    plan = harness_plan(tmp_path_factory, HTTPS, "# NO_CERT_MANAGER_WAIT\n")
    findings = gateway_findings(plan)
    assert {(f.check, f.message.split(" needs")[0]) for f in findings} == {
        ("gateway-cert-manager-first", "ClusterIssuer platform-selfsigned"),
        ("gateway-cert-manager-first", "Certificate platform-gateway"),
    }


@pytest.mark.parametrize("environment", ["staging", "production", None])
def test_acme_issuer_pair_and_the_selected_one(tmp_path_factory: pytest.TempPathFactory,
                                               environment: str | None) -> None:
    chosen = {"gateway.https.acmeEnvironment": environment} if environment else {}
    plan = harness_plan(tmp_path_factory, {**ACME, **chosen})
    servers = {}
    for name in ("staging", "production"):
        acme = k8s_object(plan, "ClusterIssuer", f"platform-acme-{name}").inputs["spec"]["acme"]
        assert acme["email"] == "ops@example.com"
        assert acme["privateKeySecretRef"] == {"name": f"platform-acme-{name}-account"}
        assert acme["solvers"][0]["http01"]["gatewayHTTPRoute"]["parentRefs"][0]["sectionName"] == "http"
        servers[name] = acme["server"]
    assert servers == {"staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
                       "production": "https://acme-v02.api.letsencrypt.org/directory"}
    issuer = k8s_object(plan, "Certificate", "platform-gateway").inputs["spec"]["issuerRef"]["name"]
    assert issuer == f"platform-acme-{environment or 'staging'}", "staging unless production is asked for"
    assert not [r for r in plan.resources if r.kind == "ClusterIssuer" and r.k8s_name == "platform-selfsigned"]
    assert gateway_findings(plan) == []


def test_hostname_matching_rules() -> None:
    assert checks.hostname_matches("*.local", "grafana.local")
    assert checks.hostname_matches("*.local", "a.b.local")
    assert not checks.hostname_matches("*.local", "local")
    assert not checks.hostname_matches("*.local", "grafana.example.com")
    assert checks.hostname_matches("grafana.local", "*.local")
    assert not checks.hostname_matches("grafana.local", "prometheus.local")


def test_chart_services_follow_the_chart_helpers() -> None:
    long_release = "a-very-long-release-name-for-kps"
    (grafana, prometheus) = checks.CHART_SERVICES["kube-prometheus-stack"](long_release, "monitoring", {})
    assert grafana.name == f"{long_release}-grafana"
    assert prometheus.name == (long_release + "-kube-prometheus-stack")[:26].rstrip("-") + "-prometheus"
    (collector,) = checks.CHART_SERVICES["opentelemetry-collector"]("otel", "tracing", {"ports": {"zipkin": {
        "enabled": False}}})
    assert collector.name == "otel-opentelemetry-collector"
    assert collector.ports[4317] == "grpc" and 9411 not in collector.ports
    assert checks.CHART_SERVICES["langfuse"]("langfuse", "langfuse", {})[0].name == "langfuse-web"


# ---------------------------------------------------------------------------------------------
# Schemas of the pinned Gateway API bundle
# ---------------------------------------------------------------------------------------------


def _schema_errors(plan: Plan, version: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for resource in plan.resources:
        if resource.is_kubernetes_object and resource.api_version.startswith("gateway.networking.k8s.io/"):
            fixture = json.loads((FIXTURES / version / f"{resource.kind}.json").read_text())
            schema = fixture["versions"][resource.api_version.split("/")[1]]
            found = jsonschema.Draft7Validator(schema).iter_errors(resource.inputs)
            errors[resource.name] = [e.message for e in found]
    return errors


def test_harness_objects_validate_against_pinned_schemas(tmp_path_factory: pytest.TempPathFactory) -> None:
    import versions

    plan = harness_plan(tmp_path_factory, HTTPS)
    errors = _schema_errors(plan, versions.GATEWAY_API)
    assert len(errors) >= 12
    assert {k: v for k, v in errors.items() if v} == {}


def test_schema_validation_can_fail(plan: Plan) -> None:
    # A duration Gateway API does not accept (no days), and a port out of range.
    k8s_object(plan, "HTTPRoute", "llm").inputs["spec"]["rules"][0]["timeouts"]["request"] = "1d"
    k8s_object(plan, "Gateway", GATEWAY_NAME).inputs["spec"]["listeners"][0]["port"] = 70000
    errors = {k: v for k, v in _schema_errors(plan, "v1.5.1").items() if v}
    assert set(errors) == {"gateway-llm", "gateway-gateway"}


def test_config_rejects_non_gateway_api_duration(tmp_path_factory: pytest.TempPathFactory) -> None:
    import config

    with pytest.raises(config.ConfigError, match="llmRequestTimeout '1d' is not a Gateway API duration"):
        harness_plan(tmp_path_factory, {"gateway.llmRequestTimeout": "1d"})


# ---------------------------------------------------------------------------------------------
# The real program, both stacks
# ---------------------------------------------------------------------------------------------


def test_stack_has_no_gateway_findings(any_plan: Plan) -> None:
    assert gateway_findings(any_plan) == []


def test_stack_gateway_api_objects_validate(any_plan: Plan) -> None:
    import versions

    errors = _schema_errors(any_plan, versions.GATEWAY_API)
    assert any(name.endswith("-litellm") for name in errors)
    assert {k: v for k, v in errors.items() if v} == {}


FORBIDDEN: dict[str, Callable[[Resource], bool]] = {
    "Ingress": lambda r: r.api_version.startswith("networking.k8s.io/"),
    "VirtualService": lambda r: r.api_version.startswith("networking.istio.io/"),
    "DestinationRule": lambda r: r.api_version.startswith("networking.istio.io/"),
}


def test_stack_has_no_ingress_or_istio_routing(any_plan: Plan) -> None:
    def forbidden(resource: Resource) -> bool:
        kind = str(resource.inputs.get("kind") or resource.type.rsplit(":", 1)[-1])
        return kind in FORBIDDEN and (FORBIDDEN[kind](resource) or not resource.inputs.get("apiVersion"))

    assert [r.urn for r in any_plan.resources if forbidden(r)] == []


def test_stack_routes_every_enabled_backend(any_plan: Plan) -> None:
    routes = {r.k8s_name: r for r in any_plan.resources if r.is_kubernetes_object and r.kind == "HTTPRoute"}
    expected = {"grafana", "prometheus", "tempo", "litellm", "otlp-http"}  # llm.<domain>: opt-in
    if any_plan.stack == "gpu":
        expected.add("langfuse")
    assert set(routes) == expected
    grpc = [r for r in any_plan.resources if r.is_kubernetes_object and r.kind == "GRPCRoute"]
    assert [r.k8s_name for r in grpc] == ["otlp-grpc"]


def _wave_of(plan: Plan, predicate: Callable[[Resource], bool]) -> int:
    index = plan.by_urn()
    return next(n for n, wave in enumerate(plan.waves) for urn in wave if predicate(index[urn]))


def test_stack_waves_crds_base_istiod_gateway(any_plan: Plan) -> None:
    crds = _wave_of(any_plan, lambda r: r.name == "mesh-gateway-api-crds")
    base = _wave_of(any_plan, lambda r: r.name == "mesh-base")
    istiod = _wave_of(any_plan, lambda r: r.name == "mesh-istiod")
    gateway = _wave_of(any_plan, lambda r: r.kind == "Gateway")
    route = _wave_of(any_plan, lambda r: r.kind == "HTTPRoute")
    assert crds < base < istiod < gateway < route


def test_host_otel_environment_points_at_the_gateway_listeners(dev_plan: Plan) -> None:
    """An app on the host sends to the Gateway's address on the OTLP listeners; one in the cluster to
    the collector's Service. Both come from the components' outputs, each names a real port. (dev: with
    OTLP auth the environments are secret, tests/test_otlp_auth.py reads them.)"""
    any_plan = dev_plan
    out = any_plan.outputs
    address = out["gatewayAddress"]
    assert address, "the mock runtime gives the Gateway an address"
    host = out["hostOtelEnvironment"]
    assert host["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://{address}:4317" == out["hostOtlpGrpcEndpoint"]
    assert host["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc"
    assert out["hostOtlpHttpEndpoint"] == f"http://{address}:4318"
    (gateway,) = any_plan.k8s("Gateway")
    listeners = gateway.inputs["spec"]["listeners"]
    ports = {listener["name"]: (listener["port"], listener["protocol"]) for listener in listeners}
    assert ports["otlp-grpc"] == (4317, "HTTP") and ports["otlp-http"] == (4318, "HTTP")
    cluster = out["clusterOtelEnvironment"]
    assert {k: v for k, v in cluster.items() if k != "OTEL_EXPORTER_OTLP_ENDPOINT"} == {
        k: v for k, v in host.items() if k != "OTEL_EXPORTER_OTLP_ENDPOINT"
    }, "the two environments differ only in where they point"
    assert cluster["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector.tracing.svc.cluster.local:4317"


def test_routes_retry_with_the_gateway_api_field(any_plan: Plan) -> None:
    """`rules[].retry` on every HTTPRoute (Istio 1.30 maps it to its retry policy); a field the pinned
    CRD schema knows, since the API server would silently prune an unknown one."""
    import versions

    routes = list(any_plan.k8s("HTTPRoute"))
    assert routes
    for route in routes:
        for rule in route.inputs["spec"]["rules"]:
            assert rule["retry"] == {"attempts": 2, "backoff": "100ms", "codes": [503]}, route.k8s_name
    fixture = json.loads((FIXTURES / versions.GATEWAY_API / "HTTPRoute.json").read_text())
    rule_schema = fixture["versions"]["v1"]["properties"]["spec"]["properties"]["rules"]["items"]
    assert set(rule_schema["properties"]["retry"]["properties"]) == {"attempts", "backoff", "codes"}


def test_retry_follows_config(tmp_path_factory: pytest.TempPathFactory) -> None:
    plan = harness_plan(tmp_path_factory, {"gateway.retry.attempts": "0"})
    assert all("retry" not in rule for r in plan.k8s("HTTPRoute") for rule in r.inputs["spec"]["rules"])
    with pytest.raises(config.ConfigError, match="400-599"):
        config.validate({"gateway": {"retry": {"codes": [200]}}}, set())
