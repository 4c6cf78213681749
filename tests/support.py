"""Helpers the tests share: cached stack plans and external tools that CI must have."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, NoReturn

import pulumi
import pytest

import config
from components import alert_rules, serving
from components.contracts import (
    CrdReadiness,
    EngineEndpoint,
    GpuRuntime,
    LoggingEndpoints,
    NamespaceRef,
    ServiceRef,
    TracingEndpoints,
)
from components.istio_mesh import IstioMeshArgs
from components.mock_engine import MockEngineArgs
from components.monitoring_stack import MonitoringStackArgs
from components.sglang_server import SglangServerArgs
from components.vllm_server import VllmServerArgs
from offline.plan import Plan
from offline.runner import run_program

_PLANS: dict[str, Plan] = {}


def stack_plan(stack: str) -> Plan:
    """The plan of an unmodified stack (cached: the program is deterministic)."""
    if stack not in _PLANS:
        _PLANS[stack] = run_program(stack)
    return _PLANS[stack]


def require_tool(name: str) -> str:
    """Path of an external tool; skip with the reason outside CI, fail in CI (where it must exist)."""
    path = shutil.which(name)
    if path:
        return path
    missing(f"{name} is not installed (.ci/run installs it)")


def missing(message: str) -> NoReturn:
    """Skip with the reason outside CI; fail in CI, which builds and installs everything the tests run."""
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must not skip this check")
    pytest.skip(message)


def python_files(base: Path, skip: frozenset[str] = frozenset()) -> list[Path]:
    """Every ``.py`` under ``base``, not inside a virtualenv (a folder holding ``pyvenv.cfg``, whatever its
    name: ``make policy-venv`` puts one in ``policies/venv``) nor a folder named in ``skip``."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if d not in skip and not (Path(folder) / d / "pyvenv.cfg").exists())
        found += [Path(folder) / name for name in sorted(files) if name.endswith(".py")]
    return found


def fake_mirror(directory: Path, stack: config.StackConfig | None = None) -> Path:
    """A chart mirror directory with an (empty) archive for every pinned chart the stack installs."""
    for pin in config.charts_in_use(stack or config.StackConfig()):
        (directory / f"{pin.name}-{pin.version}.tgz").write_bytes(b"")
    return directory


def engine_endpoint(cfg: config.StackConfig, engine: str) -> EngineEndpoint:
    """Where ``engine`` answers on this stack, as ``__main__`` wires it."""
    settings = {"vllm": cfg.vllm, "sglang": cfg.sglang}.get(engine)
    name = settings.served_model_name if settings else cfg.mock_engine.served_model_name
    return serving.endpoint(engine, cfg.namespaces.llm, name, settings.model if settings else name)


def alert_scope(cfg: config.StackConfig) -> alert_rules.AlertScope:
    """The alert rules' scope as ``__main__`` builds it."""
    return alert_rules.AlertScope(
        llm_namespaces=(cfg.namespaces.llm, cfg.namespaces.litellm),
        vllm=engine_endpoint(cfg, "vllm").service,
        vllm_deployed="vllm" in cfg.engines(),
        gpu=cfg.gpu.enabled,
        gpu_memory_utilization=cfg.vllm.gpu_memory_utilization,
    )


def rule_groups(cfg: config.StackConfig) -> list[dict[str, Any]]:
    return alert_rules.rule_groups(cfg.monitoring.alerts, alert_scope(cfg))


def mesh_args(cfg: config.StackConfig, collector: ServiceRef) -> IstioMeshArgs:
    """IstioMesh's inputs as ``__main__`` derives them from the stack config."""
    return IstioMeshArgs(
        settings=cfg.istio, namespaces=cfg.namespaces, istio_version=cfg.versions.istio,
        gateway_api_bundle=config.gateway_api_bundle(cfg), charts=cfg.charts,
        retain_data_namespaces=cfg.storage.retain_on_destroy, collector=collector,
    )


def monitoring_args(
    cfg: config.StackConfig, secrets: config.Secrets, tracing: TracingEndpoints, logging: LoggingEndpoints | None
) -> MonitoringStackArgs:
    """MonitoringStack's inputs as ``__main__`` derives them, in a namespace that exists."""
    return MonitoringStackArgs(
        settings=cfg.monitoring, namespace=NamespaceRef.existing(cfg.namespaces.monitoring),
        chart=cfg.versions.chart("kube-prometheus-stack"), charts=cfg.charts, generated_secrets=cfg.generated_secrets,
        retain=cfg.storage.retain_on_destroy, grafana_admin_password=secrets.get("grafanaAdminPassword"),
        alertmanager_webhook_url=secrets.get("alertmanagerWebhookUrl"), alert_scope=alert_scope(cfg),
        gpu_dashboards=cfg.gpu.enabled, tracing=tracing, logging=logging, environment=pulumi.get_stack(),
    )


def engine_args(
    cfg: config.StackConfig,
    secrets: config.Secrets,
    *,
    namespace: NamespaceRef,
    tracing: TracingEndpoints,
    crds: CrdReadiness,
    gpu: GpuRuntime | None,
) -> dict[str, Any]:
    """``serving.deploy``'s keyword inputs (mock, vllm, sglang) as ``__main__`` derives them."""
    names, image = cfg.engines(), cfg.versions.image
    common: dict[str, Any] = {"namespace": namespace, "tracing": tracing, "monitoring_crds": crds}
    on_gpu: dict[str, Any] = {
        "gpu": gpu, "retain_cache": cfg.storage.retain_on_destroy, "hf_token": secrets.get("hfToken")
    }
    return {
        "mock": MockEngineArgs(settings=cfg.mock_engine, image=image("mockEngine"), **common)
        if "mock" in names else None,
        "vllm": VllmServerArgs(settings=cfg.vllm, image=image("vllm"), **common, **on_gpu)
        if gpu and "vllm" in names else None,
        "sglang": SglangServerArgs(settings=cfg.sglang, image=image("sglang"), **common, **on_gpu)
        if gpu and "sglang" in names else None,
    }
