"""The lab's HTTPS checks, on the Gateway, routes and cert-manager objects the program generates."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from lab import checks, https
from lab.runner import HTTPS_SETTINGS
from offline.runner import run_program

KINDS = {"Gateway": checks.GATEWAYS, "HTTPRoute": checks.HTTP_ROUTES, "GRPCRoute": checks.GRPC_ROUTES,
         "Certificate": "certificates.cert-manager.io",
         "ClusterIssuer": "clusterissuers.cert-manager.io", "CustomResourceDefinition": "crd"}  # fmt: skip


@pytest.fixture(scope="module")
def stored() -> dict[str, list[dict[str, Any]]]:
    """The objects as the API server would list them: the cluster stack with the lab's HTTPS settings."""
    plan = run_program("cluster", dict(HTTPS_SETTINGS))
    objects: dict[str, list[dict[str, Any]]] = {plural: [] for plural in KINDS.values()}
    for resource in plan.resources:
        if resource.is_kubernetes_object and resource.kind in KINDS:
            objects[KINDS[resource.kind]].append(copy.deepcopy(resource.inputs))
    for kind, group, plural in (("ClusterIssuer", "cert-manager.io", "clusterissuers"),
                                ("Certificate", "cert-manager.io", "certificates")):  # fmt: skip
        objects["crd"].append({"spec": {"group": group, "names": {"kind": kind, "plural": plural}},
                               "status": {"conditions": [{"type": "Established", "status": "True"}]}})  # fmt: skip
    return objects


def sent_of(objects: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    return {
        f"{o['kind']}/{o['metadata'].get('namespace') or ''}/{o['metadata']['name']}": o
        for plural in ("certificates.cert-manager.io", "clusterissuers.cert-manager.io") for o in objects[plural]
    }  # fmt: skip


def run(objects: dict[str, list[dict[str, Any]]], sent: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    def get(kind: str) -> dict[str, Any]:
        return {"items": copy.deepcopy(objects[kind])}

    return {name: checks.run_check(name, check, get) for name, check in checks.https_checks(sent)}


def test_the_generated_https_setup_passes_with_both_acme_issuers(stored: dict[str, list[dict[str, Any]]]) -> None:
    results = run(stored, sent_of(stored))
    assert all(r["ok"] for r in results.values()), results
    assert "platform-acme-production" in results["https-listener-certificate"]["message"]
    assert "https-redirect" in results["port-80-only-redirects"]["message"]


def test_a_route_on_port_80_that_serves_a_backend_fails(stored: dict[str, list[dict[str, Any]]]) -> None:
    objects = copy.deepcopy(stored)
    grafana = next(r for r in objects[checks.HTTP_ROUTES] if "grafana" in r["metadata"]["name"])
    for ref in grafana["spec"]["parentRefs"]:
        ref.pop("sectionName", None)  # no sectionName: it attaches to every listener, port 80 included
    result = run(objects, sent_of(stored))["port-80-only-redirects"]
    assert not result["ok"] and "grafana" in result["message"] and "serves plain HTTP" in result["message"]


def test_a_redirect_to_http_is_not_a_redirect_to_https(stored: dict[str, list[dict[str, Any]]]) -> None:
    objects = copy.deepcopy(stored)
    redirect = next(r for r in objects[checks.HTTP_ROUTES] if https.redirects_only(r))
    redirect["spec"]["rules"][0]["filters"][0]["requestRedirect"]["scheme"] = "http"
    assert not run(objects, sent_of(stored))["port-80-only-redirects"]["ok"]


def test_a_missing_issuer_or_an_unwired_listener_fails(stored: dict[str, list[dict[str, Any]]]) -> None:
    objects = copy.deepcopy(stored)
    objects["clusterissuers.cert-manager.io"] = [
        i for i in objects["clusterissuers.cert-manager.io"] if "production" not in i["metadata"]["name"]
    ]
    result = run(objects, sent_of(stored))
    assert (
        not result["https-listener-certificate"]["ok"]
        and "no ClusterIssuer platform-acme-production" in (result["https-listener-certificate"]["message"])
    )
    assert not result["cert-manager-objects-stored-as-sent"]["ok"]
    objects = copy.deepcopy(stored)
    objects["certificates.cert-manager.io"][0]["spec"]["secretName"] = "other"
    assert "which no Certificate writes" in run(objects, sent_of(stored))["https-listener-certificate"]["message"]


def test_no_issuer_in_the_state_proves_nothing(stored: dict[str, list[dict[str, Any]]]) -> None:
    result = run(stored, {})
    assert not result["https-listener-certificate"]["ok"] and not result["cert-manager-objects-stored-as-sent"]["ok"]


def test_unreadable_routes_fail_closed(stored: dict[str, list[dict[str, Any]]]) -> None:
    def get(kind: str) -> dict[str, Any]:
        return {"error": "forbidden"} if kind == checks.HTTP_ROUTES else {"items": stored[kind]}

    name, check = checks.https_checks(sent_of(stored))[0]
    result = checks.run_check(name, check, get)
    assert not result["ok"] and "forbidden" in result["message"]


def test_a_route_bound_to_port_80_by_port_number_fails(stored: dict[str, list[dict[str, Any]]]) -> None:
    objects = copy.deepcopy(stored)
    grafana = next(r for r in objects[checks.HTTP_ROUTES] if "grafana" in r["metadata"]["name"])
    for ref in grafana["spec"]["parentRefs"]:
        ref.pop("sectionName", None)
        ref["port"] = 80
    result = run(objects, sent_of(stored))["port-80-only-redirects"]
    assert not result["ok"] and "grafana" in result["message"]


def test_a_grpc_route_on_port_80_fails_it_cannot_redirect(stored: dict[str, list[dict[str, Any]]]) -> None:
    objects = copy.deepcopy(stored)
    (grpc,) = objects[checks.GRPC_ROUTES]
    for ref in grpc["spec"]["parentRefs"]:
        ref["sectionName"] = "http"
    result = run(objects, sent_of(stored))["port-80-only-redirects"]
    assert not result["ok"] and "GRPCRoute" in result["message"] and "serves plain HTTP" in result["message"]


def test_a_route_of_another_gateway_or_namespace_is_not_bound(stored: dict[str, list[dict[str, Any]]]) -> None:
    objects = copy.deepcopy(stored)
    grafana = next(r for r in objects[checks.HTTP_ROUTES] if "grafana" in r["metadata"]["name"])
    for ref in grafana["spec"]["parentRefs"]:
        ref.pop("sectionName", None)
        ref["namespace"] = "elsewhere"
    assert run(objects, sent_of(stored))["port-80-only-redirects"]["ok"]
