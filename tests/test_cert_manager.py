"""CertManager: installed once when any consumer needs it (the Gateway's HTTPS, Langfuse), in its own namespace."""

from __future__ import annotations

import pytest

from config import ConfigError
from offline.checks.gateway import chart_name, check_cert_manager_first
from offline.plan import Plan
from offline.runner import run_program

COMPONENT = "llm-tracing-infra:cert_manager:CertManager"


def cert_manager_charts(plan: Plan) -> list[str]:
    return [c.urn for c in plan.charts() if chart_name(c) == "cert-manager"]


def test_dev_needs_no_cert_manager(dev_plan: Plan) -> None:
    assert not cert_manager_charts(dev_plan)
    assert not [r for r in dev_plan.resources if r.type == COMPONENT]


def test_langfuse_gets_the_one_cert_manager(gpu_plan: Plan) -> None:
    (component,) = [r for r in gpu_plan.resources if r.type == COMPONENT]
    (chart,) = cert_manager_charts(gpu_plan)
    children = gpu_plan.children(component.urn)
    namespaces = [r.k8s_name for r in children if r.type == "kubernetes:core/v1:Namespace"]
    assert namespaces == ["cert-manager"], "the component creates its own namespace"
    assert chart in [r.urn for r in children]
    (operator,) = [c for c in gpu_plan.charts() if chart_name(c) == "clickhouse-operator-helm"]
    assert gpu_plan.depends_on(operator.urn, chart)


def test_https_alone_installs_cert_manager_and_the_certificate_waits_for_it() -> None:
    """Before: cert-manager came only with Langfuse, so HTTPS without it had no issuer to ask."""
    plan = run_program("dev", {"gateway.https.enabled": "true"})
    (chart,) = cert_manager_charts(plan)
    certificate = [r for r in plan.resources if r.type.endswith(":Certificate")]
    assert certificate and all(plan.depends_on(c.urn, chart) for c in certificate)
    assert not check_cert_manager_first(plan)


def test_install_false_leaves_it_to_the_cluster() -> None:
    plan = run_program("gpu", {"certManager.install": "false"})
    assert not cert_manager_charts(plan)


def test_the_old_langfuse_key_names_its_new_place() -> None:
    with pytest.raises(ConfigError) as caught:
        run_program("gpu", {"langfuse.installCertManager": "false"})
    assert "langfuse.installCertManager: moved to llm-tracing-infra:certManager.install" in str(caught.value)
