"""Alert rules: valid for promtool, and each alert fires when it should and stays quiet when it should not.

The unit tests with input series live in ``tests/promtool/*.yaml``; they run against the rules
as the program renders them (written next to a copy of the test files as ``rules.yaml``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

import config
from tests.support import engine_endpoint, require_tool, rule_groups

PROMTOOL_TESTS = Path(__file__).parent / "promtool"
GPU_STACK = {"engine": "vllm", "gpu": {"enabled": True}}
"""What the promtool tests assume: every group present, VllmDown also on a vanished target."""


def render(cfg: config.StackConfig, directory: Path) -> Path:
    path = directory / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule_groups(cfg)}, sort_keys=False))
    return path


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require_tool("promtool"), *args], cwd=cwd, capture_output=True, text=True, check=False)


def run_unit_tests(cfg: config.StackConfig, directory: Path) -> subprocess.CompletedProcess[str]:
    render(cfg, directory)
    files = sorted(PROMTOOL_TESTS.glob("*.yaml"))
    for test_file in files:
        shutil.copy(test_file, directory / test_file.name)
    return promtool("test", "rules", *(f.name for f in files), cwd=directory)


def all_rules(cfg: config.StackConfig) -> list[dict[str, Any]]:
    return [rule for group in rule_groups(cfg) for rule in group["rules"]]


@pytest.mark.parametrize("stack", [{}, GPU_STACK], ids=["dev", "gpu"])
def test_promtool_check_rules(stack: dict[str, Any], tmp_path: Path) -> None:
    result = promtool("check", "rules", render(config.StackConfig.model_validate(stack), tmp_path).name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_rejects_a_broken_expression(tmp_path: Path) -> None:
    """The check above can fail: a typo in one expression is caught."""
    groups = rule_groups(config.StackConfig())
    groups[0]["rules"][0]["expr"] = "sum by (namespace (kube_pod_status_phase) > 0"
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}))
    assert promtool("check", "rules", "rules.yaml", cwd=tmp_path).returncode != 0


def test_alerts_fire_and_stay_quiet_as_the_unit_tests_say(tmp_path: Path) -> None:
    result = run_unit_tests(config.StackConfig.model_validate(GPU_STACK), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(list(PROMTOOL_TESTS.glob("*.yaml")))


@pytest.mark.parametrize(
    ("thresholds", "broken_alert"),
    [
        ({"errorRatio": 0.5}, {"ServiceHighErrorRatio"}),  # the 33% error service no longer alerts
        # the 0.05 req/s 5xx service and the 0.017 req/s slow service now alert: both guards follow the key
        ({"minRequestRate": 0.01}, {"ServiceHighErrorRatio", "ServiceHighLatency"}),
        ({"kvCacheUsageRatio": 0.99}, {"VllmKvCacheNearlyFull"}),
        ({"collectorQueueRatio": 0.95}, {"CollectorQueueFilling"}),
    ],
)
def test_thresholds_come_from_config(thresholds: dict[str, float], broken_alert: set[str], tmp_path: Path) -> None:
    """Change a threshold and the unit tests written for the defaults fail on exactly that alert."""
    cfg = config.StackConfig.model_validate({**GPU_STACK, "monitoring": {"alerts": thresholds}})
    result = run_unit_tests(cfg, tmp_path)
    assert result.returncode != 0
    report = result.stdout + result.stderr
    failed = {line.split("alertname:")[1].split(",")[0].strip() for line in report.splitlines() if "alertname:" in line}
    assert failed == broken_alert, report


def test_rules_are_complete_and_labelled() -> None:
    rules = all_rules(config.StackConfig.model_validate(GPU_STACK))
    names = [r["alert"] for r in rules]
    assert len(names) == len(set(names))
    assert set(names) >= {
        "PodNotRunning", "ContainerMemoryNearLimit", "ContainerRestarting", "ServiceHighErrorRatio",
        "ServiceHighLatency", "DeploymentReplicasUnavailable", "VllmKvCacheNearlyFull", "VllmRequestsWaiting",
        "VllmQueueTimeHigh", "VllmDown", "GpuTemperatureHigh", "GpuXidError", "GpuMemoryNearlyFull",
        "CollectorRefusingSpans", "CollectorDroppingSpans", "TempoIngestionFailing",
    }
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]


def test_gpu_rules_only_where_a_gpu_is_monitored() -> None:
    dev = [g["name"] for g in rule_groups(config.StackConfig())]
    gpu = [g["name"] for g in rule_groups(config.StackConfig.model_validate(GPU_STACK))]
    assert "llm-tracing-infra.gpu" not in dev and "llm-tracing-infra.gpu" in gpu


def test_vllm_absence_alerts_only_when_vllm_is_deployed() -> None:
    """The mock-engine stack has no vLLM target; an absent() there would fire forever."""
    down = {r["alert"]: r["expr"] for r in all_rules(config.StackConfig())}["VllmDown"]
    assert "absent(" not in down
    down = {r["alert"]: r["expr"] for r in all_rules(config.StackConfig.model_validate(GPU_STACK))}["VllmDown"]
    vllm = engine_endpoint(config.StackConfig.model_validate(GPU_STACK), "vllm").service
    assert f'absent(up{{namespace="{vllm.namespace}", job="{vllm.name}"}})' in down


def test_rules_follow_namespace_config() -> None:
    cfg = config.StackConfig.model_validate({**GPU_STACK, "namespaces": {"llm": "models", "litellm": "proxy"}})
    exprs = {r["alert"]: r["expr"] for r in all_rules(cfg)}
    assert 'destination_workload_namespace!~"models|proxy"' in exprs["ServiceHighLatency"]
    assert 'namespace="models"' in exprs["VllmDown"]


def test_rules_use_the_metric_names_of_the_pinned_versions() -> None:
    text = yaml.safe_dump(rule_groups(config.StackConfig.model_validate(GPU_STACK)))
    assert "vllm:kv_cache_usage_perc" in text and "gpu_cache_usage_perc" not in text  # vLLM v0.11
    for counter in ("receiver_refused_spans", "exporter_send_failed_spans", "exporter_enqueue_failed_spans"):
        assert f"otelcol_{counter}_total" in text  # collector 0.158: counters end in _total
    assert 'container!="istio-proxy"' in text
