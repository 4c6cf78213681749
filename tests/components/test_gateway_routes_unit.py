"""GatewayRoutes alone: one Gateway, a route per given backend, grants where the backends live."""

from __future__ import annotations

from offline.plan import Plan
from tests.components.conftest import Build, of_kind

SOURCE = """
from components.contracts import EngineEndpoint, ServiceRef
from components.gateway_routes import Backends, GatewayRoutes, GatewayRoutesArgs
from config.sections import Gateway

GatewayRoutes("gateway", GatewayRoutesArgs(
    settings=Gateway.model_validate({gateway}),
    namespace="gw-system", primary_engine="vllm",
    backends=Backends(
        grafana=ServiceRef("grafana", "mon", 80), prometheus=ServiceRef("prom", "mon", 9090),
        tempo=ServiceRef("tempo", "traces", 3200), otlp_grpc=ServiceRef("otel", "traces", 4317, "grpc"),
        otlp_http=ServiceRef("otel", "traces", 4318),
        engines=[
            EngineEndpoint("vllm", ServiceRef("vllm", "models", 8000, "http"), "m", "org/m"),
            EngineEndpoint("sglang", ServiceRef("sglang", "models", 8000, "http"), "m", "org/m"),
        ],
        langfuse=None, litellm=None,
    ),
))
"""


DIRECT = {"directEngineRoute": {"enabled": True, "allowedCidrs": ["10.9.0.0/16"]}}
"""``llm.<domain>`` is opt-in; these tests route the engines too."""


def routes(build: Build, gateway: dict[str, object]) -> Plan:
    return build(SOURCE.format(gateway=repr({**DIRECT, **gateway})))


def test_one_gateway_and_a_route_per_backend(build: Build) -> None:
    plan = routes(build, {"baseDomain": "example.test", "adminAllowedCidrs": ["10.1.0.0/16"]})
    (gateway,) = of_kind(plan, "Gateway")
    assert (gateway.k8s_name, gateway.namespace) == ("main-gateway", "gw-system")
    hosts = {h for r in of_kind(plan, "HTTPRoute") for h in r.inputs["spec"].get("hostnames", [])}
    assert {"grafana.example.test", "prometheus.example.test", "tempo.example.test", "llm.example.test"} <= hosts
    assert not [h for h in hosts if h.startswith(("langfuse.", "litellm."))], "no route for an absent backend"
    assert len(of_kind(plan, "GRPCRoute")) == 1
    (llm,) = [r for r in of_kind(plan, "HTTPRoute") if r.k8s_name == "llm"]
    (backend,) = llm.inputs["spec"]["rules"][0]["backendRefs"]
    assert (backend["name"], backend["namespace"], backend["port"]) == ("vllm", "models", 8000)


def test_grants_only_where_backends_live(build: Build) -> None:
    plan = routes(build, {"baseDomain": "example.test"})
    assert {g.namespace for g in of_kind(plan, "ReferenceGrant")} == {"mon", "traces", "models"}


def test_admin_restriction_and_canary_follow_the_settings(build: Build) -> None:
    plan = routes(build, {
        "adminAllowedCidrs": ["10.1.0.0/16"],
        "canary": {"primary": "vllm", "canary": "sglang", "percent": 20},
    })
    (policy,) = [p for p in of_kind(plan, "AuthorizationPolicy") if p.k8s_name == "admin-uis-source-ranges"]
    assert policy.inputs["spec"]["rules"][0]["from"][0]["source"]["notRemoteIpBlocks"] == ["10.1.0.0/16"]
    (llm,) = [r for r in of_kind(plan, "HTTPRoute") if r.k8s_name == "llm"]
    weights = {b["name"]: b["weight"] for b in llm.inputs["spec"]["rules"][0]["backendRefs"]}
    assert weights == {"vllm": 80, "sglang": 20}
    open_plan = routes(build, {"restrictAdminUis": False})
    assert [p.k8s_name for p in of_kind(open_plan, "AuthorizationPolicy")] == ["ingress-guards"]
    closed = routes(build, {"directEngineRoute": {"enabled": False}})
    assert not [r for r in of_kind(closed, "HTTPRoute") if r.k8s_name == "llm"]


def _port_80_rules(plan: Plan) -> dict[str, list[dict[str, object]]]:
    """Hostname -> the rules of the routes attached to the ``http`` (port 80) listener for it."""
    rules: dict[str, list[dict[str, object]]] = {}
    for route in of_kind(plan, "HTTPRoute"):
        spec = route.inputs["spec"]
        if any(p["sectionName"] == "http" for p in spec["parentRefs"]):
            for host in spec.get("hostnames", []):
                rules.setdefault(host, []).extend(spec["rules"])
    return rules


def test_https_turns_port_80_into_a_redirect_for_every_host(build: Build) -> None:
    redirect = {"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}
    plan = routes(build, {"baseDomain": "example.test", "https": {"enabled": True}})
    port_80 = _port_80_rules(plan)
    assert sorted(port_80) == sorted(f"{h}.example.test" for h in ("grafana", "prometheus", "tempo", "llm"))
    assert all(rules == [{"filters": [redirect]}] for rules in port_80.values()), port_80
    plain = routes(build, {"baseDomain": "example.test"})
    assert all("filters" not in rule and rule["backendRefs"] for rules in _port_80_rules(plain).values()
               for rule in rules)
