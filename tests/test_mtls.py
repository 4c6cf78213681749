"""mTLS from the edge list: STRICT where every client has a sidecar, port exceptions or PERMISSIVE where not,
and the offline check that fails a STRICT policy facing a plain-text client."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components import mtls
from components.contracts import Edge
from offline.checks import mtls as mtls_check
from offline.plan import Plan, Resource
from offline.runner import run_program

ENGINE = (("app.kubernetes.io/component", "engine"), ("app.kubernetes.io/name", "vllm"))


def edge(name: str, *, client: str = "", server: str = "", pods: tuple[tuple[str, str], ...] = (),
         ports: tuple[int, ...] = (8000,), target: str = "llm") -> Edge:
    return Edge(name, "somewhere", target, ports, "test", plaintext_client=client, plaintext_server=server,
                server_pods=pods)


def policies(plan: Plan) -> dict[tuple[str, str], Resource]:
    return {(str(r.namespace), r.k8s_name): r for r in plan.k8s("PeerAuthentication")}


def findings(plan: Plan, level: str) -> list[str]:
    return [f.message for f in mtls_check.check_plaintext_clients(plan) if f.level == level]


# ---------------------------------------------------------------------------------------------
# Deriving the mode (pure)
# ---------------------------------------------------------------------------------------------


def test_strict_when_every_client_has_a_sidecar() -> None:
    edges = [
        edge("meshed"),
        edge("no-sidecar-either-end", client="Prometheus has none", server="the collector has none"),
        edge("elsewhere", client="outside", target="tracing"),
    ]
    assert mtls.derive(edges, "llm") == mtls.Mtls("STRICT")


def test_plaintext_clients_of_known_pods_get_exactly_their_ports() -> None:
    litellm = edge("litellm-to-vllm", client="namespace litellm has no sidecar injection", pods=ENGINE)
    scrape = edge("scrape-vllm", client="Prometheus has none", pods=ENGINE, ports=(8000, 8001))
    decided = mtls.derive([litellm, scrape, edge("meshed", pods=ENGINE, ports=(9000,))], "llm")
    assert decided.mode == "STRICT" and decided.plaintext == ()
    (exception,) = decided.exceptions
    assert (exception.pods, exception.ports, exception.edges) == (ENGINE, (8000, 8001), (litellm, scrape))
    assert exception.name == "vllm-plaintext"


def test_permissive_when_a_plaintext_client_reaches_unknown_pods_or_ports() -> None:
    internal = edge("internal-monitoring", client="Prometheus has none", ports=(), target="monitoring")
    known = edge("known", client="Prometheus has none", pods=ENGINE, target="monitoring")
    decided = mtls.derive([internal, known], "monitoring")
    assert decided == mtls.Mtls("PERMISSIVE", plaintext=(internal,))
    every_port = edge("every-port", client="x", pods=ENGINE, ports=())
    assert mtls.derive([every_port], "llm").mode == "PERMISSIVE"


# ---------------------------------------------------------------------------------------------
# The stacks
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "engine"), [("dev", "mock-llm"), ("gpu", "vllm")])
def test_stack_modes(stack: str, engine: str, dev_plan: Plan, gpu_plan: Plan) -> None:
    plan = dev_plan if stack == "dev" else gpu_plan
    found = policies(plan)
    modes = {key: r.inputs["spec"].get("mtls", {}).get("mode") for key, r in found.items()}
    assert modes == {
        ("istio-system", "default"): "PERMISSIVE",  # the mesh-wide baseline
        ("tracing", "default"): "STRICT",  # its servers (collector, Tempo) have no sidecar: nothing to refuse
        ("llm", "default"): "STRICT",
        ("llm", f"{engine}-plaintext"): None,  # a port exception, below
        ("monitoring", "default"): "PERMISSIVE",  # Prometheus calls Grafana/Alertmanager on chart-owned ports
        **{(ns, "default"): "PERMISSIVE" for ns in ("litellm", "langfuse", "logging")},  # no sidecars there
    }
    exception = found[("llm", f"{engine}-plaintext")]
    assert exception.inputs["spec"] == {
        "selector": {"matchLabels": {"app.kubernetes.io/component": "engine", "app.kubernetes.io/name": engine}},
        "portLevelMtls": {"8000": {"mode": "PERMISSIVE"}},
    }
    assert plan.depends_on(found[("llm", "default")].urn, exception.urn), "STRICT only once the exception is in"
    why = exception.metadata["annotations"][mtls.PLAINTEXT_ANNOTATION]
    assert "litellm-to-" in why and "namespace litellm has no sidecar injection" in why
    assert f"scrape-llm-{engine}" in why and "Prometheus runs without a sidecar" in why
    assert "internal-monitoring" in found[("monitoring", "default")].metadata["annotations"][mtls.PLAINTEXT_ANNOTATION]
    assert findings(plan, "mandatory") == []


def test_the_preview_says_which_client_is_plaintext_and_why(gpu_plan: Plan) -> None:
    info = findings(gpu_plan, "info")
    assert any(m.startswith("litellm -> llm:8000 (litellm-to-vllm") and "namespace litellm has no sidecar" in m
               and "PERMISSIVE by port 8000 of" in m for m in info), info
    assert "namespace tracing: mTLS STRICT by namespace tracing" in info
    assert any(m.startswith("namespace llm: mTLS STRICT") and "ports 8000" in m for m in info), info
    assert any(m.startswith("litellm -> tracing:4317 (otlp-litellm)") and "no PeerAuthentication applies" in m
               for m in info), info


def test_a_user_set_strict_namespace_with_plaintext_clients_fails_the_preview() -> None:
    plan = run_program("dev", {"istio.mtls": '{"llm": "STRICT"}'})
    assert ("llm", "mock-llm-plaintext") not in policies(plan), "an override takes no exceptions"
    mandatory = findings(plan, "mandatory")
    assert len(mandatory) == 2, mandatory
    assert any(m.startswith("litellm -> llm:8000 (litellm-to-mock") and "namespace llm is mTLS STRICT" in m
               for m in mandatory), mandatory
    assert any(m.startswith("monitoring -> llm:8000 (scrape-llm-mock-llm") for m in mandatory), mandatory


@pytest.mark.parametrize("mutation", ["exception-strict", "exception-gone", "mesh-wide-strict"])
def test_strict_facing_a_plaintext_client_is_mandatory(dev_plan: Plan, mutation: str) -> None:
    plan = copy.deepcopy(dev_plan)
    found = policies(plan)
    spec: dict[str, Any]
    if mutation == "exception-strict":
        spec = found[("llm", "mock-llm-plaintext")].inputs["spec"]
        spec["portLevelMtls"]["8000"]["mode"] = "STRICT"
        expected = "port 8000 of app.kubernetes.io/component=engine,app.kubernetes.io/name=mock-llm is mTLS STRICT"
    elif mutation == "exception-gone":
        plan.resources.remove(found[("llm", "mock-llm-plaintext")])
        expected = "namespace llm is mTLS STRICT"
    else:  # monitoring's own policy gone: the mesh-wide default decides, and it is STRICT
        plan.resources.remove(found[("monitoring", "default")])
        found[("istio-system", "default")].inputs["spec"]["mtls"]["mode"] = "STRICT"
        expected = "the mesh-wide default is mTLS STRICT"
    assert any(expected in m for m in findings(plan, "mandatory")), findings(plan, "mandatory")


def test_effective_mode_follows_istios_precedence() -> None:
    pods = dict(ENGINE)
    workload = ("llm", {"app.kubernetes.io/name": "vllm"}, {"mtls": {"mode": "DISABLE"},
                                                            "portLevelMtls": {"8000": {"mode": "PERMISSIVE"}}})
    namespace = ("llm", None, {"mtls": {"mode": "STRICT"}})
    root = ("istio-system", None, {"mtls": {"mode": "PERMISSIVE"}})
    resolve = mtls_check.effective_mode
    assert resolve([workload, namespace, root], {"istio-system"}, "llm", pods, 8000)[0] == "PERMISSIVE"
    assert resolve([workload, namespace, root], {"istio-system"}, "llm", pods, 9000)[0] == "DISABLE"
    assert resolve([workload, namespace, root], {"istio-system"}, "llm", {}, 8000)[0] == "STRICT"
    assert resolve([root], {"istio-system"}, "llm", pods, 8000) == ("PERMISSIVE", "the mesh-wide default")
    assert resolve([], set(), "llm", pods, 8000) == ("PERMISSIVE", "Istio's default")
