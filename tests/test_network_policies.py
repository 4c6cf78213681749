"""NetworkPolicies from the wiring: default-deny per platform namespace, one allow per edge, and the
offline check that proves the policies allow exactly the wired edges."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from offline.checks import network_edges
from offline.plan import Plan
from offline.runner import ROOT, run_program

EXTRA_EDGE = '''
# An LLM-namespace pod that queries Prometheus: wired, but no edge lists it.
k8s.core.v1.ConfigMap(
    "test-unpoliced", metadata={"name": "unpoliced", "namespace": llm.output},
    data={"PROMETHEUS_URL": monitoring.endpoints.prometheus.url()}, opts=on_cluster,
)
'''

MISSING_ALLOW = '''
# An edge in the list whose policies are never rendered (no namespace handed to the component).
from components.contracts import Edge as _Edge
NetworkPolicies("test-missing", NetworkPoliciesArgs(namespaces=[], edges=[
    _Edge("llm-to-grafana", llm.name, monitoring.endpoints.grafana.namespace, (3000,), "test"),
]), on_cluster)
'''


def _program(tmp_path: Path, extra: str) -> Path:
    program = tmp_path / "program.py"
    program.write_text((ROOT / "__main__.py").read_text() + extra)
    return program


def test_both_stacks_allow_exactly_their_wiring(any_plan: Plan) -> None:
    assert network_edges.check_network_edges(any_plan) == []


def test_every_platform_namespace_has_a_default_deny(any_plan: Plan) -> None:
    denied, allows, _ = network_edges.rendered(any_plan)
    namespaces = {ns.k8s_name for ns in any_plan.k8s("Namespace")}
    assert all(ns.metadata["labels"][network_edges.PART_OF] == network_edges.PLATFORM
               for ns in any_plan.k8s("Namespace"))
    assert {"istio-system", "tracing", "monitoring", "llm", "litellm", "logging"} <= namespaces
    assert denied == namespaces
    assert allows, "no allow rendered"


def test_the_wiring_is_found_in_the_plan(gpu_plan: Plan) -> None:
    """The check sees the connections it must police (so an empty finding list means something)."""
    edges = network_edges.edge_list(gpu_plan) or []
    conns = {(w.source, w.target) for w in network_edges.wired(gpu_plan, {"tracing", "monitoring", "llm",
                                                                          "litellm", "langfuse", "istio-system"})}
    assert {("litellm", "llm"), ("litellm", "langfuse"), ("tracing", "langfuse"), ("tracing", "monitoring"),
            ("istio-system", "monitoring"), ("istio-system", "tracing"), ("monitoring", "llm")} <= conns
    names = {e["name"] for e in edges}
    assert {"collector-to-tempo", "tempo-remote-write", "litellm-to-vllm", "webhook-istiod"} <= names


def test_an_unpoliced_edge_fails_the_check(tmp_path: Path) -> None:
    plan = run_program("dev", program=_program(tmp_path, EXTRA_EDGE))
    findings = network_edges.check_network_edges(plan)
    assert [f.level for f in findings] == ["mandatory"]
    assert "unpoliced edge llm -> monitoring:9090" in findings[0].message


def test_a_missing_allow_fails_the_check(tmp_path: Path) -> None:
    plan = run_program("dev", program=_program(tmp_path, MISSING_ALLOW))
    messages = [f.message for f in network_edges.check_network_edges(plan)]
    assert any("llm-to-grafana" in m and "no ingress allow in monitoring" in m for m in messages), messages
    assert any("llm-to-grafana" in m and "no egress allow in llm" in m for m in messages), messages


@pytest.mark.parametrize("mutation", ["extra-port", "no-default-deny", "no-edge-list"])
def test_policies_beyond_the_edges_fail_the_check(dev_plan: Plan, mutation: str) -> None:
    plan = copy.deepcopy(dev_plan)
    policies = list(plan.k8s("NetworkPolicy"))
    if mutation == "extra-port":
        allow = next(p for p in policies if p.k8s_name == "allow-in-otlp-llm")
        allow.inputs["spec"]["ingress"][0]["ports"].append({"port": 3200, "protocol": "TCP"})
        expected = "allows llm -> tracing port 3200/TCP, which no edge wires"
    elif mutation == "no-default-deny":
        plan.resources.remove(next(p for p in policies if p.k8s_name == "default-deny" and p.namespace == "llm"))
        expected = "namespace llm has no default-deny"
    else:
        plan.resources = [r for r in plan.resources if r.type != network_edges.COMPONENT_TYPE]
        expected = "no NetworkPolicies component"
    messages = [f.message for f in network_edges.check_network_edges(plan)]
    assert any(expected in m for m in messages), messages
