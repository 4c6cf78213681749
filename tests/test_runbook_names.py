"""README's "Runbook commands on this platform": every object its last column names is in the plan.

Objects come three ways: created by the program (in the plan as they are), rendered by a chart
(its namespace and ``fullnameOverride``), or created by Istio from the Gateway (``<gateway>-<class>``
Service, the ``istio`` GatewayClass istiod installs).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components import alert_rules
from config.sections import AlertThresholds
from offline.plan import Plan

README = Path(__file__).resolve().parent.parent / "README.md"
CHART_KINDS = {
    ("StatefulSet", "opentelemetry-collector"),
    ("DaemonSet", "nvidia-device-plugin"),
    ("DaemonSet", "dcgm-exporter"),
}
"""What each chart renders its ``fullnameOverride`` as (the collector in ``mode: statefulset``)."""
GPU_ONLY = {"nvidia-device-plugin", "dcgm-exporter", "vllm"}


def runbook_objects() -> list[tuple[str, str, str]]:
    """``(kind, namespace, name)`` from the table's last column (namespace empty for cluster objects)."""
    section = README.read_text().split("### Runbook commands on this platform", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]  # after header and rule
    objects = []
    for row in rows:
        last = row.rstrip(" |").rsplit("|", 1)[1].strip()
        found = re.fullmatch(r"`(\w+) ([\w./-]+)`", last)
        assert found, f"last column must read `Kind namespace/name`: {row}"
        namespace, _, name = found[2].rpartition("/")
        objects.append((found[1], namespace, name))
    return objects


def exists(plan: Plan, kind: str, namespace: str, name: str) -> bool:
    if any(r.namespace == namespace and r.k8s_name == name for r in plan.k8s(kind)):
        return True
    gateways = list(plan.k8s("Gateway"))
    if kind == "GatewayClass":
        installed = any(c.inputs.get("chart") == "istiod" for c in plan.charts())
        return installed and any(g.inputs["spec"]["gatewayClassName"] == name for g in gateways)
    if kind == "Service":
        return any(g.namespace == namespace and f"{g.k8s_name}-{g.inputs['spec']['gatewayClassName']}" == name
                   for g in gateways)
    for chart in plan.charts():
        values = chart.inputs.get("values") or {}
        if (kind, chart.inputs.get("chart")) in CHART_KINDS and chart.inputs.get("namespace") == namespace \
                and values.get("fullnameOverride") == name:
            return values.get("mode", "statefulset") == "statefulset" if kind == "StatefulSet" else True
    return False


def test_the_table_lists_the_runbook_names() -> None:
    objects = runbook_objects()
    assert ("Service", "istio-system", "main-gateway-istio") in objects
    assert len(objects) == 7


@pytest.mark.parametrize("stack", ["dev", "gpu"])
def test_every_named_object_is_in_the_plan(stack: str, request: pytest.FixtureRequest) -> None:
    plan: Plan = request.getfixturevalue(f"{stack}_plan")
    missing = [
        obj for obj in runbook_objects()
        if (stack == "gpu" or obj[2] not in GPU_ONLY) and not exists(plan, *obj)
    ]
    assert not missing, f"README names objects the {stack} plan does not have: {missing}"


def test_a_renamed_object_is_caught(gpu_plan: Plan) -> None:
    assert not exists(gpu_plan, "Service", "istio-system", "platform-istio")
    assert not exists(gpu_plan, "DaemonSet", "kube-system", "nvidia-device-plugin")
    assert not exists(gpu_plan, "Deployment", "tracing", "otel-collector-opentelemetry-collector")


def test_troubleshooting_names_the_metric_the_alerts_use() -> None:
    """The collector metric README's troubleshooting points at is the one the alert rules query."""
    section = README.read_text().split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(otelcol_\w+)`", section))
    assert named == {"otelcol_exporter_send_failed_spans_total"}
    exprs = " ".join(r["expr"] for r in alert_rules.tracing_rules(AlertThresholds()))
    assert all(metric in exprs for metric in named)
