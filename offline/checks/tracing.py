"""Wiring checks of the trace and log pipelines, read from the captured plan.

The collector's config and Tempo's config are chart values, so the links live in strings:
an exporter endpoint ``host:port``, a remote-write URL, Alloy's push URL. Each check resolves
such a link to a Service the plan holds (created by the program or rendered by a chart, see
``offline.checks.gateway.plan_services``) of the chart that should serve it, and checks the
collector's pipelines keep the properties that make them lose nothing: memory_limiter first,
every exporter retrying from a queue persisted by a file_storage extension the service runs.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from offline.checks.gateway import ServicePorts, chart_name, plan_services
from offline.plan import Finding, Plan, Resource

_ADDRESS = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?([^/:]+):(\d+)(/.*)?$")


def _charts(plan: Plan, name: str) -> list[Resource]:
    return [c for c in plan.charts() if chart_name(c) == name]


def _values(chart: Resource) -> dict[str, Any]:
    values = chart.inputs.get("values")
    return values if isinstance(values, dict) else {}


def resolve(
    plan: Plan, address: str, services: dict[tuple[str, str], ServicePorts] | None = None
) -> ServicePorts | None:
    """The plan's Service that ``host:port`` or ``scheme://host:port/path`` reaches, if any."""
    match = _ADDRESS.match(address.strip())
    if not match:
        return None
    host, port = match.group(1), int(match.group(2))
    parts = host.split(".")
    if len(parts) < 2:
        return None
    service = (services if services is not None else plan_services(plan)).get((parts[1], parts[0]))
    return service if service is not None and port in service.ports else None


def _source_chart(plan: Plan, service: ServicePorts) -> str | None:
    chart = plan.by_urn().get(service.source)
    return chart_name(chart) if chart is not None else None


def collector_config(chart: Resource) -> dict[str, Any]:
    """The config the collector chart runs: ``alternateConfig`` when set (used as is), else ``config``."""
    values = _values(chart)
    config = values.get("alternateConfig") or values.get("config") or {}
    return config if isinstance(config, dict) else {}


def check_collector_exports_to_tempo(plan: Plan) -> list[Finding]:
    """Every OTLP/gRPC exporter of the collector reaches a Service of the Tempo chart (its OTLP port)."""
    findings = []
    services = plan_services(plan)
    for chart in _charts(plan, "opentelemetry-collector"):
        exporters = collector_config(chart).get("exporters") or {}
        grpc = {k: v for k, v in exporters.items() if k.split("/")[0] in ("otlp", "otlp_grpc")}
        if not grpc:
            findings.append(Finding("collector-exports-to-tempo", "mandatory", chart.urn,
                                    "the collector has no OTLP/gRPC exporter: spans reach no trace store"))
        for name, exporter in grpc.items():
            endpoint = str((exporter or {}).get("endpoint", ""))
            service = resolve(plan, endpoint, services)
            if service is None or _source_chart(plan, service) != "tempo":
                findings.append(Finding(
                    "collector-exports-to-tempo", "mandatory", chart.urn,
                    f"exporter {name} sends to {endpoint!r}, which is no port of a Service the Tempo chart renders "
                    f"(known: {sorted(f'{s.name}.{s.namespace}' for s in services.values())})",
                ))
    return findings


def check_collector_pipelines(plan: Plan) -> list[Finding]:
    """memory_limiter first, no batch processor; every exporter retries from a file_storage-backed queue.

    A batch processor acknowledges spans while it holds them in memory, in front of the persistent
    queue: a crash loses them. Exporters batch in ``sending_queue.batch`` instead.
    """
    findings = []
    for chart in _charts(plan, "opentelemetry-collector"):
        config = collector_config(chart)
        service = config.get("service") or {}
        running = set(service.get("extensions") or [])
        extensions = config.get("extensions") or {}
        for name, pipeline in (service.get("pipelines") or {}).items():
            processors = (pipeline or {}).get("processors") or []
            if not processors or processors[0] != "memory_limiter":
                message = f"pipeline {name}: memory_limiter must be the first processor, got {processors}"
                findings.append(Finding("collector-pipelines", "mandatory", chart.urn, message))
            if any(p.split("/")[0] == "batch" for p in processors):
                message = (f"pipeline {name}: a batch processor holds acknowledged spans in memory before the "
                           "persistent queue (lost on a crash); batch in the exporters' sending_queue.batch")
                findings.append(Finding("collector-pipelines", "mandatory", chart.urn, message))
        for name, exporter in (config.get("exporters") or {}).items():
            if name.split("/")[0] == "debug":
                continue
            exporter = exporter or {}
            queue = exporter.get("sending_queue") or {}
            storage = queue.get("storage")
            problems = []
            if not (exporter.get("retry_on_failure") or {}).get("enabled"):
                problems.append("retry_on_failure is off")
            if not queue.get("enabled") or not storage:
                problems.append("its sending_queue is not persisted (sending_queue.storage)")
            elif not str(storage).startswith("file_storage") or storage not in extensions or storage not in running:
                problems.append(f"queue storage {storage!r} is not a file_storage extension the service runs")
            if problems:
                findings.append(Finding("collector-pipelines", "mandatory", chart.urn,
                                        f"exporter {name} can lose spans: {'; '.join(problems)}"))
    return findings


def tempo_remote_write_urls(chart: Resource) -> list[str]:
    config = _values(chart).get("config")
    document = yaml.safe_load(config) if isinstance(config, str) and "{{" not in config else None
    if not isinstance(document, dict):
        return [str(((_values(chart).get("tempo") or {}).get("metricsGenerator") or {}).get("remoteWriteUrl", ""))]
    storage = (document.get("metrics_generator") or {}).get("storage") or {}
    return [str(target.get("url", "")) for target in storage.get("remote_write") or []]


def check_tempo_remote_write(plan: Plan) -> list[Finding]:
    """Tempo's metrics-generator remote-writes to the Prometheus Service of kube-prometheus-stack."""
    findings = []
    services = plan_services(plan)
    for chart in _charts(plan, "tempo"):
        urls = tempo_remote_write_urls(chart)
        if not urls:
            findings.append(Finding("tempo-remote-write", "mandatory", chart.urn,
                                    "Tempo's metrics-generator has no remote_write target"))
        for url in urls:
            service = resolve(plan, url, services)
            if service is None or _source_chart(plan, service) != "kube-prometheus-stack" or not url.endswith(
                "/api/v1/write"
            ):
                findings.append(Finding(
                    "tempo-remote-write", "mandatory", chart.urn,
                    f"Tempo remote-writes to {url!r}: not /api/v1/write of the kube-prometheus-stack Prometheus",
                ))
    return findings


CHECKS = [check_collector_exports_to_tempo, check_collector_pipelines, check_tempo_remote_write]
