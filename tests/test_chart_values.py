"""Every Helm values key the program sets exists in that chart's defaults at the pinned version.

A misspelt key is silently ignored by Helm; here it fails, naming the chart and the key. The
known keys are the committed lists of ``tools/chart_keys.py`` (tests never read the shared folder).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

import versions
from offline.plan import SECRET, Plan, Resource
from offline.runner import run_program
from tests.support import fake_mirror, stack_plan
from tools import chart_keys


def chart_identity(chart: Resource) -> tuple[str, str]:
    name, version = chart_keys.chart_ref(str(chart.inputs.get("chart", "")), chart.inputs.get("version"))
    assert version, f"{chart.urn}: no chart version (pin it)"
    return name, str(version)


def key_problems(plan: Plan) -> list[str]:
    """One line per chart whose values hold keys its defaults lack (or that cannot be read)."""
    problems = []
    for chart in plan.charts():
        name, version = chart_identity(chart)
        values = chart.inputs.get("values") or {}
        if values == SECRET:
            problems.append(f"{name}-{version} ({chart.name}): values are secret; pass Secret names, not secrets")
            continue
        known = chart_keys.load_keys(name, version)
        unknown = chart_keys.unknown_keys(values, known, chart_keys.FREE_FORM.get(name, ()))
        if unknown:
            problems.append(f"{name}-{version} ({chart.name}): unknown values keys {unknown}")
    return problems


@pytest.mark.parametrize("stack", ["dev", "gpu", "cluster"])
def test_every_values_key_exists_in_the_chart(stack: str) -> None:
    plan = stack_plan(stack)
    assert list(plan.charts()), "the plan has charts"
    assert key_problems(plan) == []


def test_a_made_up_key_is_caught_and_named() -> None:
    plan = copy.deepcopy(stack_plan("dev"))
    (tempo,) = [c for c in plan.charts() if chart_identity(c)[0] == "tempo"]
    values: dict[str, Any] = tempo.inputs["values"]
    values["tempo"]["retentionPeriod"] = "48h"  # the chart's key is tempo.retention
    values["persistence"]["storageClass"] = "fast"  # tempo 2.2.4 has no such default key
    assert key_problems(plan) == [
        f"tempo-2.2.4 ({tempo.name}): unknown values keys ['persistence.storageClass', 'tempo.retentionPeriod']"
    ]


def test_open_and_free_form_maps_take_any_key() -> None:
    known = chart_keys.load_keys("opentelemetry-collector", "0.170.0")
    free = chart_keys.FREE_FORM["opentelemetry-collector"]
    values = {
        "podAnnotations": {"example.com/anything": "x"},  # default {}: open
        "extraEnvs": [{"name": "A", "value": "b"}],  # default []: open
        "resources": {"limits": {"cpu": "1"}},  # a Kubernetes object
        "config": {"receivers": {"whatever": {}}},  # free-form for this chart
        "ports": {"otlp": {"appProtocol": "grpc"}},  # exists
    }
    assert chart_keys.unknown_keys(values, known, free) == []
    assert chart_keys.unknown_keys({"ports": {"otlp": {"appProtocoll": "grpc"}}}, known, free) == [
        "ports.otlp.appProtocoll"
    ]


def test_every_pinned_chart_has_its_key_list() -> None:
    for name, version in chart_keys.pinned_charts():
        assert chart_keys.fixture_path(name, version).exists(), f"{name}-{version}: run `python -m tools.chart_keys`"
    assert ("istiod", versions.ISTIO) in chart_keys.pinned_charts()


def test_a_chart_without_key_list_fails_with_the_fix() -> None:
    with pytest.raises(FileNotFoundError, match=r"python -m tools\.chart_keys"):
        chart_keys.load_keys("tempo", "0.0.1")


@pytest.mark.parametrize(
    ("chart", "version", "expected"),
    [
        ("tempo", "2.2.4", ("tempo", "2.2.4")),
        ("/srv/charts/opentelemetry-collector-0.170.0.tgz", None, ("opentelemetry-collector", "0.170.0")),
        ("/srv/charts/cert-manager-v1.21.1.tgz", None, ("cert-manager", "v1.21.1")),
        ("oci://ghcr.io/clickhouse/clickhouse-operator-helm", "0.0.2", ("clickhouse-operator-helm", "0.0.2")),
    ],
)
def test_chart_identity(chart: str, version: str | None, expected: tuple[str, str]) -> None:
    assert chart_keys.chart_ref(chart, version) == expected


def test_mirrored_charts_are_identified_by_their_archive(tmp_path: Any) -> None:
    plan = run_program("dev", {"charts.source": "mirror", "charts.mirror": str(fake_mirror(tmp_path))})
    assert all(str(c.inputs["chart"]).endswith(".tgz") for c in plan.charts())
    assert key_problems(plan) == []


def test_quoted_segments_and_list_items() -> None:
    known = set(chart_keys.default_paths({"grafana": {"grafana.ini": {"server": {"root_url": ""}}}, "l": [{"a": 1}]}))
    assert 'grafana."grafana.ini".server.root_url' in known and "l[].a" in known
    assert chart_keys.unknown_keys({"grafana": {"grafana.ini": {"server": {"root_url": "x"}}}, "l": [{"a": 2}]},
                                   known) == []
