"""Stack configuration: bad input fails before any resource exists, with a message naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import config
from offline.checks.gateway import chart_name
from offline.runner import FAKE_SECRET, run_program, stack_config
from tests.support import stack_plan

ROOT = Path(__file__).resolve().parent.parent

# (stack, overrides, expected fragments of the one message about it)
BAD_INPUTS: list[tuple[str, dict[str, str], list[str]]] = [
    (
        "gpu",
        {"vllm.gpuMemoryUtilization": "1.0"},
        ["llm-tracing-infra:vllm.gpuMemoryUtilization", "less than 1", '"1.0"'],
    ),
    ("gpu", {"vllm.gpuMemoryUtilization": "0"}, ["vllm.gpuMemoryUtilization", "greater than 0"]),
    ("gpu", {"vllm.gpuMemoryUtilization": "ninety"}, ["vllm.gpuMemoryUtilization", "valid number"]),
    ("gpu", {"vllm.cacheSize": "50Gb"}, ["vllm.cacheSize", "50Gi", "not Gb", '"50Gb"']),
    ("dev", {"tracing.tempo.storageSize": "ten"}, ["tracing.tempo.storageSize", "Kubernetes quantity"]),
    ("dev", {"tracing.tempo.retention": "2 days"}, ["tracing.tempo.retention", "duration such as"]),
    ("dev", {"monitoring.prometheusRetention": "7days"}, ["monitoring.prometheusRetention", "duration"]),
    ("dev", {"namespaces.llm": "LLM"}, ["namespaces.llm", "DNS label", '"LLM"']),
    ("dev", {"namespaces.tracing": "trac_ing"}, ["namespaces.tracing", "DNS label"]),
    ("dev", {"gateway.baseDomain": "-bad-.local"}, ["gateway.baseDomain", "DNS name"]),
    ("dev", {"gateway.baseDomain": "Example.COM"}, ["gateway.baseDomain", "lower-case"]),
    ("dev", {"engine": "tgi"}, ["llm-tracing-infra:engine", "'vllm', 'mock' or 'sglang'", '"tgi"']),
    ("dev", {"vllmm.model": "x"}, ["llm-tracing-infra:vllmm", "unknown key"]),
    ("dev", {"vllm.gpuMemUtil": "0.5"}, ["vllm.gpuMemUtil", "unknown key"]),
    ("gpu", {"vllm.tensorParallelSize": "0"}, ["vllm.tensorParallelSize", "greater than or equal to 1"]),
    ("gpu", {"vllm.maxModelLen": "long"}, ["vllm.maxModelLen", "valid integer"]),
    ("dev", {"istio.tracingSamplingPercent": "150"}, ["istio.tracingSamplingPercent", "less than or equal to 100"]),
    ("dev", {"versions.istio": "latest"}, ["versions.istio", "exact version"]),
    (
        "dev",
        {"versions.istio": "1.25.5"},
        ["versions.istio=1.25.5", "versions.gatewayApi=v1.5.1", "1.30.x with v1.5.1"],
    ),
    ("dev", {"versions.images": '{"vllm": "vllm/vllm-openai:latest"}'}, ["versions.images.vllm", "never :latest"]),
    ("dev", {"versions.charts": '{"tempo": "^2.0"}'}, ["versions.charts.tempo", "exact version"]),
    ("dev", {"versions.charts": '{"tempox": "2.0.0"}'}, ["versions.charts", "unknown chart", "tempox"]),
    ("dev", {"monitoring.alertmanager.receiver": "slack"}, ["alertmanagerWebhookUrl", "receiver=slack", "--secret"]),
    ("gpu", {"vllm.gatedModel": "true"}, ["hfToken", "vllm.gatedModel=true", "pulumi config set --secret hfToken"]),
    ("dev", {"engine": "vllm"}, ["llm-tracing-infra:engine", "needs a GPU", "gpu.enabled=true"]),
    ("dev", {"tracing.collector.exportToLangfuse": "true"}, ["exportToLangfuse=true", "langfuse.enabled=true"]),
    ("dev", {"gateway.adminAllowedCidrs": '["10.0.0.1/8"]'}, ["gateway.adminAllowedCidrs.0", "CIDR"]),
    (
        "dev",
        {"gateway.canary": '{"primary": "mock", "canary": "mock", "percent": 10}'},
        ["gateway.canary", "different"],
    ),
    (
        "gpu",
        {"gateway.canary": '{"primary": "vllm", "canary": "sglang", "percent": 150}'},
        ["gateway.canary.percent", "less than or equal to 100"],
    ),
    ("dev", {"charts.source": "mirror"}, ["llm-tracing-infra:charts", "charts.mirror"]),
    ("dev", {"hfToken": "hf_abcdefghijklmnopqrstuvwxyz"}, ["llm-tracing-infra:hfToken", "plain text", "--secret"]),
    (
        "gpu",
        {"vllm.extraArgs": '["--gpu-memory-utilization=0.99"]'},
        ["vllm.extraArgs", "dedicated keys", "--gpu-memory-utilization=0.99"],
    ),
    ("dev", {"gateway.https.acmeEmail": "ops@example.com"}, ["acmeEmail", "https.enabled=false"]),
    (
        "dev",
        {"tracing.collector.memoryLimitMib": "900"},
        ["tracing.collector", "memoryLimitMib 900", "resources.limits.memory"],
    ),
    ("dev", {"namespaces.istio": "tracing"}, ["namespaces.istio=tracing", "must differ"]),
    ("gpu", {"monitoring.alerts.gpuMemoryRatio": "0.85"}, ["gpuMemoryRatio=0.85", "vllm.gpuMemoryUtilization=0.9"]),
    ("dev", {"litellm.replicas": "-1"}, ["litellm.replicas", "greater than or equal to 1"]),
]


@pytest.mark.parametrize(("stack", "overrides", "expected"), BAD_INPUTS, ids=[str(o) for _, o, _ in BAD_INPUTS])
def test_bad_input_fails_before_any_resource(stack: str, overrides: dict[str, str], expected: list[str]) -> None:
    with pytest.raises(config.ConfigError) as caught:
        run_program(stack, overrides)
    problems = caught.value.problems
    matching = [p for p in problems if all(fragment in p for fragment in expected)]
    assert matching, f"no single message has all of {expected}: {problems}"
    assert caught.value.plan.resources == [], "a resource was registered before the config was validated"  # type: ignore[attr-defined]


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(config.ConfigError) as caught:
        run_program("gpu", {"vllm.gpuMemoryUtilization": "1", "vllm.cacheSize": "1Tb", "tempo": "x"})
    assert len(caught.value.problems) == 3
    assert "Traceback" not in str(caught.value)


def test_preview_prints_config_errors_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    from offline.__main__ import main

    code = main(["preview", "--stack", "gpu", "--set", "vllm.gpuMemoryUtilization=1.0"])
    output = capsys.readouterr()
    assert code == 2
    assert "llm-tracing-infra:vllm.gpuMemoryUtilization" in output.out
    assert "Traceback" not in output.out + output.err


def test_defaults_serve_the_dev_stack() -> None:
    stack = config.validate({}, set())
    assert stack.engine == "mock"
    assert not stack.gpu.enabled
    assert stack.vllm.gpu_memory_utilization == 0.9
    assert stack.vllm.model == "Qwen/Qwen2.5-3B-Instruct"


def _leaves(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for key, value in tree.items():
            out.update(_leaves(value, f"{prefix}.{key}" if prefix else key))
        return out
    return {prefix: tree}


@pytest.mark.parametrize("stack", ["dev", "gpu", "cluster"])
def test_stack_files_hold_only_what_differs(stack: str) -> None:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    defaults = config.StackConfig().model_dump(by_alias=True)
    for key, value in _leaves({k.split(":", 1)[1]: v for k, v in document.items()}).items():
        node: Any = defaults
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        assert node != value, f"Pulumi.{stack}.yaml sets {key}={value!r}, which is already the default"


def test_secure_values_become_fake_placeholders(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.x.yaml").write_text(
        "config:\n  llm-tracing-infra:hfToken:\n    secure: v1:abc\n  llm-tracing-infra:engine: mock\n"
    )
    values, secret_keys = stack_config("x", root=tmp_path)
    assert values["llm-tracing-infra:hfToken"] == FAKE_SECRET
    assert secret_keys == ["llm-tracing-infra:hfToken"]


def test_set_behaves_like_config_set_path(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.x.yaml").write_text("config:\n  llm-tracing-infra:vllm:\n    model: a/b\n")
    values, _ = stack_config(
        "x", {"vllm.dtype": "half", "engine": "vllm", "gateway.canary": '{"percent": 5}'}, root=tmp_path
    )
    assert yaml.safe_load(values["llm-tracing-infra:vllm"]) == {"model": "a/b", "dtype": "half"}
    assert values["llm-tracing-infra:engine"] == "vllm"
    assert yaml.safe_load(values["llm-tracing-infra:gateway"]) == {"canary": {"percent": 5}}


@pytest.mark.parametrize("stack", ["dev", "gpu", "cluster"])
def test_charts_in_use_are_the_charts_of_the_plan(stack: str) -> None:
    plan = stack_plan(stack)
    in_plan = sorted((chart_name(c), str(c.inputs.get("version"))) for c in plan.charts())
    in_use = sorted(
        (pin.name, pin.version)
        for pin in config.charts_in_use(config.StackConfig.model_validate(stack_config_values(stack)))
    )
    assert in_use == in_plan


def stack_config_values(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text()).get("config") or {}
    return {key.split(":", 1)[1]: value for key, value in document.items()}


def test_a_mirror_without_a_pinned_chart_is_refused_before_any_resource(tmp_path: Path) -> None:
    stack = config.StackConfig()
    for pin in config.charts_in_use(stack):
        (tmp_path / f"{pin.name}-{pin.version}.tgz").write_bytes(b"")
    mirror = {"charts.source": "mirror", "charts.mirror": str(tmp_path)}
    assert run_program("dev", mirror).resources, "a complete mirror is accepted"
    (tmp_path / f"tempo-{stack.versions.chart('tempo').version}.tgz").unlink()
    with pytest.raises(config.ConfigError) as caught:
        run_program("dev", mirror)
    (problem,) = [p for p in caught.value.problems if "charts.mirror" in p]
    assert f"tempo-{stack.versions.chart('tempo').version}.tgz" in problem and "versions.charts" in problem
    assert caught.value.plan.resources == []  # type: ignore[attr-defined]
    with pytest.raises(config.ConfigError, match="is not a directory"):
        run_program("dev", {**mirror, "charts.mirror": str(tmp_path / "nowhere")})
