"""The metric contract: the PromQL tokenizer, the check on both stacks, a renamed metric caught, the mock's names."""

from __future__ import annotations

import copy
import json
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline import metric_contract
from offline.checks import all_checks
from offline.checks import metrics as check
from offline.plan import Plan, Resource
from offline.promql import PromQLSyntaxError, metric_names
from tests.support import stack_plan


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("up", {"up"}),
        ('up{job="vllm", namespace=~"llm|litellm"} == 0', {"up"}),
        ("sum by (le, model_name) (rate(vllm:e2e_request_latency_seconds_bucket[$__rate_interval]))",
         {"vllm:e2e_request_latency_seconds_bucket"}),
        ("histogram_quantile(0.95, sum(rate(x_bucket[5m])) by (le))", {"x_bucket"}),
        ("max by (Hostname, gpu) (DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)) * 1e6",
         {"DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE"}),
        ("a / on (pod) group_left (node, zone) b > bool 0.5", {"a", "b"}),
        ("a unless ignoring (reason) b and c or d", {"a", "b", "c", "d"}),
        ("rate(a[5m:30s] offset 1h) @ start()", {"a"}),
        ('label_replace(a, "dst", "$1", "src", "(.*)")', {"a"}),
        ('count_values("version", build_info) without (instance)', {"build_info"}),
        ('{__name__="vllm:num_requests_running", job="x"}', {"vllm:num_requests_running"}),
        ("topk(5, a) + quantile(0.9, b) - Inf + NaN", {"a", "b"}),
        ("sum(rate(a[${__range}])) / $total + [[legacy]]", {"a"}),
        ("absent(a{job=\"x}\"})  # a comment naming c", {"a"}),
        ("1-vllm:kv_cache_usage_perc", {"vllm:kv_cache_usage_perc"}),
        ("vector(1)", set()),
    ],
)
def test_tokenizer_finds_the_metric_selectors(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


@pytest.mark.parametrize("expr", ['up{job="x"', 'rate(a{job="x}[5m])', "rate(a[5m)"])
def test_tokenizer_refuses_unclosed_expressions(expr: str) -> None:
    with pytest.raises(PromQLSyntaxError):
        metric_names(expr)


def test_the_check_is_registered() -> None:
    assert check.check_metric_contract in all_checks()


def test_every_table_names_its_reference_and_the_pinned_version() -> None:
    tables = metric_contract.load()
    assert {t.source for t in tables} >= {
        "vllm", "sglang", "litellm", "dcgm-exporter", "otel-collector", "tempo", "istio",
    }
    for table in tables:
        assert table.reference.get("repo") and table.reference.get("tag"), table.source
        assert table.version == metric_contract.pinned_version(table.pin), table.source


@pytest.mark.parametrize("stack", ["dev", "gpu"])
def test_both_stacks_use_only_contract_metrics(stack: str) -> None:
    plan = stack_plan(stack)
    usages = check.dashboard_usages(plan) + check.rule_usages(plan)[0]
    assert len(usages) > 20, "the dashboards and rules must be found, or the check proves nothing"
    mandatory = [f.message for f in check.check_metric_contract(plan) if f.level == "mandatory"]
    assert mandatory == []


def _replace_everywhere(plan: Plan, kind: str, old: str, new: str) -> Plan:
    changed = copy.deepcopy(plan)
    hits = 0
    for resource in changed.resources:
        if resource.is_kubernetes_object and resource.kind == kind:
            text = json.dumps(resource.inputs)
            hits += text.count(old)
            resource.inputs = json.loads(text.replace(old, new))
    assert hits, f"{old} not found in any {kind}"
    return changed


def test_a_dashboard_with_the_renamed_vllm_metric_fails() -> None:
    # vLLM 0.11 hides the old name (deprecated in 0.9.2): the panel would stay blank.
    plan = _replace_everywhere(stack_plan("gpu"), "ConfigMap", "vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc")
    messages = [f.message for f in check.check_metric_contract(plan) if f.level == "mandatory"]
    assert messages, "a dashboard on a metric the pinned vLLM does not expose must fail"
    assert all("vllm:gpu_cache_usage_perc" in m and "dashboard llm-vllm-serving" in m for m in messages)
    assert "renamed vllm:kv_cache_usage_perc" in messages[0]


def test_the_stacks_use_no_deprecated_metric() -> None:
    for stack in ("dev", "gpu"):
        advisories = [f.message for f in check.check_metric_contract(stack_plan(stack)) if f.level == "advisory"]
        assert advisories == [], stack


def test_a_deprecated_vllm_metric_is_advisory_and_names_its_successor() -> None:
    # vLLM 0.11 still exposes vllm:time_per_output_token_seconds: the panel works today, blank after 0.12.
    plan = _replace_everywhere(
        stack_plan("gpu"), "ConfigMap", "vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds"
    )
    findings = [f for f in check.check_metric_contract(plan) if "time_per_output_token" in f.message]
    assert findings and {f.level for f in findings} == {"advisory"}
    assert len(findings) == 1, "one finding per panel and name, not one per quantile query"
    assert "dashboard llm-vllm-serving panel 'Inter-token latency' uses vllm:time_per_output_token_seconds_bucket, " \
           "deprecated at vllm v0.11.0: use vllm:inter_token_latency_seconds" in findings[0].message
    assert _mandatory(plan) == []


def test_an_alert_on_a_misspelt_metric_fails_with_a_suggestion() -> None:
    plan = _replace_everywhere(
        stack_plan("dev"), "PrometheusRule", "otelcol_receiver_refused_spans_total", "otelcol_receiver_refused_spans"
    )
    messages = [f.message for f in check.check_metric_contract(plan) if f.level == "mandatory"]
    assert len(messages) == 1
    assert "alert CollectorRefusingSpans" in messages[0]
    assert "did you mean otelcol_receiver_refused_spans_total" in messages[0]


def _mandatory(plan: Plan) -> list[str]:
    return [f.message for f in check.check_metric_contract(plan) if f.level == "mandatory"]


def _with(plan: Plan, *resources: Resource) -> Plan:
    changed = copy.deepcopy(plan)
    changed.resources.extend(resources)
    return changed


def _object(kind: str, api_version: str, spec: dict[str, Any]) -> Resource:
    group_version = api_version if "/" in api_version else f"core/{api_version}"
    return Resource(
        urn=f"urn:test:{kind}", type=f"kubernetes:{group_version}:{kind}", name="test", parent=None, custom=True,
        remote=False, dependencies=[],
        inputs={"apiVersion": api_version, "kind": kind, "metadata": {"name": "test"}, "spec": spec},
    )


def test_recording_rule_outputs_count_as_known() -> None:
    alert = {"alert": "SlowTokens", "expr": "llm:generation_tokens:rate5m < 1"}
    record = {"record": "llm:generation_tokens:rate5m", "expr": "sum(rate(vllm:generation_tokens_total[5m]))"}
    rules = _object("PrometheusRule", "monitoring.coreos.com/v1", {"groups": [{"name": "g", "rules": [alert]}]})
    unknown = [f for f in check.check_metric_contract(_with(stack_plan("dev"), rules)) if f.level == "mandatory"]
    assert [f.urn for f in unknown] == ["urn:test:PrometheusRule"]
    rules.inputs["spec"]["groups"][0]["rules"].append(record)
    assert not [f for f in check.check_metric_contract(_with(stack_plan("dev"), rules)) if f.level == "mandatory"]


def test_keda_prometheus_triggers_are_checked() -> None:
    trigger = {"type": "prometheus", "metadata": {"query": "sum(vllm:num_requests_waiting_total)", "threshold": "5"}}
    scaled = _object("ScaledObject", "keda.sh/v1alpha1", {"triggers": [trigger]})
    messages = _mandatory(_with(stack_plan("dev"), scaled))
    assert len(messages) == 1 and "ScaledObject test trigger uses vllm:num_requests_waiting_total" in messages[0]


def test_a_table_nothing_relies_on_may_differ_from_what_a_program_deploys() -> None:
    # vLLM bumped, but no panel or rule asks for a vLLM metric any more: the vLLM table proves nothing here.
    plan = copy.deepcopy(stack_plan("gpu"))
    for resource in plan.resources:
        text = json.dumps(resource.inputs).replace("vllm-openai:v0.11.0", "vllm-openai:v0.12.0")
        if resource.is_kubernetes_object and resource.kind in ("ConfigMap", "PrometheusRule"):
            text = text.replace("vllm:", "other:")
        resource.inputs = json.loads(text)
    assert metric_contract.pinned_version("image:vllm", plan) == "v0.12.0"
    messages = _mandatory(plan)
    assert any("other:kv_cache_usage_perc" in m for m in messages)
    assert not any("contract/vllm.yaml" in m for m in messages)


def test_a_dashboard_config_map_that_is_not_a_dashboard_is_a_finding() -> None:
    plan = copy.deepcopy(stack_plan("dev"))
    (dashboard, *_) = [r for r in plan.k8s("ConfigMap") if "grafana_dashboard" in r.metadata.get("labels", {})]
    dashboard.inputs["data"] = {"broken.json": "{not json"}
    assert any("holds no readable dashboard" in m for m in _mandatory(plan))


def test_an_unreadable_expression_is_a_finding_not_a_pass() -> None:
    broken = {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up{"}]}]}
    messages = _mandatory(_with(stack_plan("dev"), _object("PrometheusRule", "monitoring.coreos.com/v1", broken)))
    assert len(messages) == 1 and "cannot read the expression" in messages[0]


def test_a_version_bump_without_a_refreshed_table_fails() -> None:
    plan = copy.deepcopy(stack_plan("gpu"))
    pinned = metric_contract.pinned_version("image:vllm")
    text_by_urn = {r.urn: json.dumps(r.inputs) for r in plan.resources}
    bumped = [r for r in plan.resources if f"vllm/vllm-openai:{pinned}" in text_by_urn[r.urn]]
    assert bumped, "the gpu plan deploys vLLM"
    for resource in bumped:
        resource.inputs = json.loads(text_by_urn[resource.urn].replace(f"vllm-openai:{pinned}", "vllm-openai:v0.12.0"))
    messages = [f.message for f in check.check_metric_contract(plan) if f.level == "mandatory"]
    stale = "metrics/contract/vllm.yaml lists vllm v0.11.0, but the platform pins v0.12.0 (image:vllm) and uses"
    assert any(stale in m for m in messages)


def _table(tmp_path: Path, **extra: Any) -> Path:
    document = {"source": "x", "pin": "image:vllm", "version": "v1", "reference": {"repo": "r", "tag": "t"},
                "metrics": ["x_new_seconds_bucket", "x_new_seconds_sum", "x_new_seconds_count", "x_old_seconds_bucket",
                            "x_old_seconds_sum", "x_old_seconds_count"], **extra}
    (tmp_path / "x.yaml").write_text(yaml.safe_dump(document))
    return tmp_path


def test_a_deprecated_name_is_exposed_and_names_its_successor(tmp_path: Path) -> None:
    (table,) = metric_contract.load(_table(tmp_path, deprecated={"x_old_seconds": "renamed x_new_seconds in v1"}))
    assert table.successor("x_old_seconds") == "x_new_seconds"


@pytest.mark.parametrize(
    ("marks", "error"),
    [
        ({"deprecated": {"x_gone": "renamed x_new_seconds"}}, "deprecated 'x_gone' is not in 'metrics'"),
        ({"deprecated": {"x_old_seconds": "going away"}}, "the note of deprecated 'x_old_seconds' names no successor"),
        ({"hidden": {"x_old_seconds": "hidden since v1"}}, "hidden 'x_old_seconds' is also in 'metrics'"),
    ],
)
def test_contradictory_marks_are_refused(tmp_path: Path, marks: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=f"x.yaml: {re.escape(error)}"):
        metric_contract.load(_table(tmp_path, **marks))


def test_a_table_that_is_not_yaml_is_an_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("source: x\nnote: a: b\n")
    with pytest.raises(ValueError, match=r"x\.yaml: not YAML"):
        metric_contract.load(tmp_path)


# ---------------------------------------------------------------------------------------------
# The mock engine imitates vLLM: every name it exposes is one the pinned vLLM exposes too.


def test_the_mock_engine_exposes_only_the_pinned_vllm_names() -> None:
    from tests.test_mock_engine_server import start_mock, stop  # the same start/stop as the mock's own tests

    process, url = start_mock({"MOCK_MODEL": "m", "MOCK_TOKENS_PER_SECOND": "500", "MOCK_MAX_TOKENS": "4",
                               "MOCK_ACCESS_LOG": "false"})
    try:
        for stream in (False, True):
            body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi there"}], "stream": stream})
            request = urllib.request.Request(f"{url}/v1/chat/completions", data=body.encode(),
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
        with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
            text = response.read().decode()
    finally:
        stop(process)
    series = {m.group(1) for m in re.finditer(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", text, re.M)}
    vllm = next(t for t in metric_contract.load() if t.source == "vllm")
    assert len(series) >= 10, text
    assert sorted(series - vllm.metrics) == []
    assert {"vllm:num_requests_running", "vllm:generation_tokens_total", "vllm:e2e_request_latency_seconds_bucket",
            "vllm:request_success_total", "vllm:inter_token_latency_seconds_bucket"} <= series
    # The pinned vLLM still exposes a deprecated name beside its successor, fed the same observations: so does the mock.
    for deprecated in vllm.deprecated:
        successor = vllm.successor(deprecated)
        assert successor is not None

        def samples(name: str) -> list[str]:
            return sorted(re.findall(rf"^{re.escape(name)}(?:_bucket|_sum|_count|_total)?[{{ ].*$", text, re.M))

        if samples(successor):
            renamed = [line.replace(successor, deprecated, 1) for line in samples(successor)]
            assert samples(deprecated) == sorted(renamed), deprecated
