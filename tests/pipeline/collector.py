"""The generated collector config, made runnable on 127.0.0.1, and a real collector process to run it.

``generated_config(stack)`` is what the chart hands the collector, from the chart values of the
offline preview: ``alternateConfig`` as is (what the program sets), or else ``config`` coalesced
over the chart's default ``config`` like Helm does; then the chart's rename of deprecated names.
``localize`` changes only addresses (and the Kubernetes-only processor, see ``KUBERNETES_ONLY``):
receivers, health check and metrics on free 127.0.0.1 ports, every exporter to a local sink, file
storage to a temporary directory.
"""

from __future__ import annotations

import copy
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from offline.plan import Plan
from tests.pipeline.otlp_sink import OtlpSink, free_port

CHART_FACTS = Path(__file__).parent / "fixtures" / "chart-config.yaml"
KINDS = ("receivers", "processors", "exporters", "extensions", "connectors")
GRPC_EXPORTERS = ("otlp", "otlp_grpc")
HTTP_EXPORTERS = ("otlphttp", "otlp_http")
KUBERNETES_ONLY = ("k8sattributes", "k8s_attributes")
"""Processors the tests remove. k8sattributes lists and watches pods through the Kubernetes API from
in-cluster credentials; without KUBERNETES_SERVICE_HOST the collector refuses to start
(``test_k8sattributes_needs_a_cluster`` proves it on the binary), so it cannot run here."""
ENV_REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}")
HOST_PORT = re.compile(r"^(?:\$\{env:[A-Za-z_][A-Za-z0-9_]*\}|[\w.\-]*|\[::\]):(\d+)$")


# ---------------------------------------------------------------------------------------------
# What the chart runs
# ---------------------------------------------------------------------------------------------


def chart_values(plan: Plan) -> dict[str, Any]:
    """``values`` of the opentelemetry-collector Chart in a captured plan."""
    for resource in plan.resources:
        chart = str(resource.inputs.get("chart", ""))
        if resource.type == "kubernetes:helm.sh/v4:Chart" and chart.endswith("opentelemetry-collector"):
            values = resource.inputs.get("values")
            if not isinstance(values, dict):
                raise AssertionError(f"the collector chart's values are {values!r}, not a map (secret inside?)")
            return values
    raise AssertionError(f"stack {plan.stack}: no opentelemetry-collector Chart in the plan")


def coalesce(defaults: Any, values: Any) -> Any:
    """Helm's merge of user values over chart defaults: maps merge, anything else replaces, null deletes."""
    if not (isinstance(defaults, dict) and isinstance(values, dict)):
        return copy.deepcopy(values)
    merged = copy.deepcopy(defaults)
    for key, value in values.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = coalesce(merged.get(key), value)
    return merged


def rename_deprecated(config: dict[str, Any], renames: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """The chart's ``rewriteDeprecatedComponentNames``: ``k8sattributes[/x]`` -> ``k8s_attributes[/x]``."""

    def renamed(key: str, old: str, new: str) -> str:
        return new + key[len(old) :] if key == old or key.startswith(old + "/") else key

    for kind, table in renames.items():
        for old, new in table.items():
            section = config.get(kind) or {}
            for key in [k for k in section if renamed(k, old, new) != k]:
                section[renamed(key, old, new)] = coalesce(section.get(renamed(key, old, new)) or {}, section.pop(key))
            for pipeline in ((config.get("service") or {}).get("pipelines") or {}).values():
                if pipeline and pipeline.get(kind):
                    pipeline[kind] = list(dict.fromkeys(renamed(k, old, new) for k in pipeline[kind]))
    return config


def effective_config(values: Mapping[str, Any]) -> dict[str, Any]:
    """The collector config the chart renders from ``values`` (the parts of the chart the program uses).

    ``alternateConfig`` is used as is (not merged with the chart's default ``config``); otherwise
    ``config`` is coalesced over the defaults. Either way the chart then renames deprecated names.
    """
    facts = yaml.safe_load(CHART_FACTS.read_text())
    unmodelled = [f"presets.{name}" for name, preset in (values.get("presets") or {}).items() if _enabled(preset)]
    if not values.get("alternateConfig"):
        unmodelled += [
            f"internalTelemetryViaOTLP.{signal_}"
            for signal_, setting in (values.get("internalTelemetryViaOTLP") or {}).items()
            if isinstance(setting, dict) and setting.get("enabled")
        ]
    if unmodelled:
        raise NotImplementedError(f"tests/pipeline does not render chart features {unmodelled}: model them first")
    if values.get("alternateConfig"):
        config = copy.deepcopy(dict(values["alternateConfig"]))
    else:
        config = coalesce(facts["config"], values.get("config") or {})
    if "{{" in yaml.safe_dump(config):
        raise NotImplementedError("the config uses chart templating ({{ }}), which tests/pipeline does not render")
    if values.get("rewriteDeprecatedComponentNames", facts["rewriteDeprecatedComponentNames"]):
        config = rename_deprecated(config, facts["deprecatedComponentRenames"])
    return config


def _enabled(preset: Any) -> bool:
    if not isinstance(preset, dict):
        return False
    return bool(preset.get("enabled")) or any(_enabled(v) for v in preset.values() if isinstance(v, dict))


def generated_config(stack: str, overrides: dict[str, str] | None = None) -> dict[str, Any]:
    """The collector config of ``stack``'s offline preview (runs the Pulumi program under mocks)."""
    from offline.runner import run_program

    return effective_config(chart_values(run_program(stack, overrides)))


def traces_exporters(config: Mapping[str, Any]) -> dict[str, str]:
    """``{exporter name: "grpc" | "http"}`` for every OTLP exporter of a traces pipeline."""
    exporters: dict[str, str] = {}
    for name, pipeline in (config.get("service", {}).get("pipelines") or {}).items():
        if name.split("/", 1)[0] != "traces":
            continue
        for exporter in pipeline.get("exporters") or []:
            kind = exporter.split("/", 1)[0]
            if kind in GRPC_EXPORTERS + HTTP_EXPORTERS:
                exporters[exporter] = "grpc" if kind in GRPC_EXPORTERS else "http"
    return exporters


# ---------------------------------------------------------------------------------------------
# Made runnable here
# ---------------------------------------------------------------------------------------------


@dataclass
class LocalConfig:
    config: dict[str, Any]
    env: dict[str, str]
    """Values for the ``${env:...}`` references left in the config (pod IP, secrets' placeholders)."""
    ports: dict[str, int] = field(default_factory=dict)
    """Original port -> local port, for receivers, health check and internal metrics."""
    removed: list[str] = field(default_factory=list)

    @property
    def health_url(self) -> str | None:
        health = (self.config.get("extensions") or {}).get("health_check")
        if health is None or "health_check" not in self.config["service"].get("extensions", []):
            return None
        return f"http://{health['endpoint']}{health.get('path', '/')}"

    @property
    def client_headers(self) -> dict[str, str]:
        """What a sender must add when the receivers ask for a bearer token (``tracing.otlpAuth``); else nothing.

        The token is whatever this run gives the extension's ``${env:...}`` reference.
        """
        for name, extension in (self.config.get("extensions") or {}).items():
            if name.split("/", 1)[0] == "bearertokenauth":
                reference = ENV_REFERENCE.fullmatch(str(extension.get("token", "")))
                if reference is None:
                    raise AssertionError(f"{name}: the token is not an ${{env:...}} reference: {extension}")
                return {"authorization": f"Bearer {self.env[reference.group(1)]}"}
        return {}

    @property
    def metrics_url(self) -> str | None:
        for reader in self.config["service"].get("telemetry", {}).get("metrics", {}).get("readers", []):
            prometheus = reader.get("pull", {}).get("exporter", {}).get("prometheus")
            if prometheus:
                return f"http://{prometheus['host']}:{prometheus['port']}/metrics"
        return None


def localize(config: Mapping[str, Any], sinks: Mapping[str, OtlpSink], storage_dir: Path) -> LocalConfig:
    """Rewrite addresses only: listeners to free 127.0.0.1 ports, exporters to ``sinks``, storage to a tmp dir."""
    local = copy.deepcopy(dict(config))
    ports: dict[str, int] = {}

    def listen(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: listen(v) if k != "endpoint" or not isinstance(v, str) else _local(v) for k, v in value.items()}
        if isinstance(value, list):
            return [listen(v) for v in value]
        return value

    def _local(endpoint: str) -> str:
        match = HOST_PORT.match(endpoint)
        if not match:
            raise AssertionError(f"cannot localize listener endpoint {endpoint!r}")
        return f"127.0.0.1:{ports.setdefault(match.group(1), free_port())}"

    for kind in ("receivers", "extensions"):
        local[kind] = listen(local.get(kind) or {})
    for reader in local.get("service", {}).get("telemetry", {}).get("metrics", {}).get("readers", []):
        prometheus = reader.get("pull", {}).get("exporter", {}).get("prometheus")
        if prometheus:
            prometheus["host"] = "127.0.0.1"
            prometheus["port"] = ports.setdefault(str(prometheus.get("port", 8888)), free_port())

    for name, exporter in (local.get("exporters") or {}).items():
        kind = name.split("/", 1)[0]
        if kind not in GRPC_EXPORTERS + HTTP_EXPORTERS:
            continue
        if name not in sinks:
            raise AssertionError(f"exporter {name} has no local sink (given: {sorted(sinks)})")
        exporter = local["exporters"][name] = dict(exporter or {})
        exporter["endpoint"] = sinks[name].endpoint
        exporter.pop("traces_endpoint", None)
        exporter["tls"] = {"insecure": True}

    for name, extension in (local.get("extensions") or {}).items():
        if name.split("/", 1)[0] == "file_storage":
            directory = storage_dir / name.replace("/", "-")
            directory.mkdir(parents=True, exist_ok=True)
            extension = local["extensions"][name] = dict(extension or {})
            extension["directory"] = str(directory)
            if "compaction" in extension:
                extension["compaction"] = {**extension["compaction"], "directory": str(directory)}

    removed = _remove_processors(local, KUBERNETES_ONLY)
    env = {"MY_POD_IP": "127.0.0.1"}
    for variable in sorted(set(ENV_REFERENCE.findall(yaml.safe_dump(local)))):
        env.setdefault(variable, f"pipeline-test-{variable.lower()}")
    return LocalConfig(config=local, env=env, ports=ports, removed=removed)


def _remove_processors(config: dict[str, Any], kinds: tuple[str, ...]) -> list[str]:
    names = [name for name in config.get("processors") or {} if name.split("/", 1)[0] in kinds]
    for name in names:
        del config["processors"][name]
        for pipeline in config["service"]["pipelines"].values():
            pipeline["processors"] = [p for p in pipeline.get("processors") or [] if p != name]
    return names


PROMETHEUS_8888 = {"host": "0.0.0.0", "port": 8888}


def minimal_config() -> dict[str, Any]:
    """A default-style config for comparison: otlp -> batch -> otlp, nothing else."""
    return {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": "0.0.0.0:4317"}}}},
        "processors": {"batch": {}},
        "exporters": {"otlp_grpc": {"endpoint": "tempo:4317"}},
        "service": {
            "pipelines": {"traces": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["otlp_grpc"]}},
            "telemetry": {"metrics": {"readers": [{"pull": {"exporter": {"prometheus": PROMETHEUS_8888}}}]}},
        },
    }


# ---------------------------------------------------------------------------------------------
# The process
# ---------------------------------------------------------------------------------------------


class CollectorProcess:
    """One collector process: started, probed, killed and stopped by its own PID only."""

    def __init__(self, binary: Path, local: LocalConfig, workdir: Path) -> None:
        self.binary = binary
        self.local = local
        self.workdir = workdir
        self.config_path = workdir / "collector.yaml"
        self.log_path = workdir / "collector.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.peak_rss_kib = 0
        self.cpu_seconds = 0.0

    def receiver_endpoint(self, protocol: str, receiver_name: str | None = None) -> str:
        """``host:port`` of a receiver's ``grpc`` or ``http`` protocol (``receiver_name``, else the first OTLP one)."""
        for name, receiver in self.local.config["receivers"].items():
            if receiver_name in (None, name) and name.split("/", 1)[0] == "otlp" \
                    and protocol in (receiver.get("protocols") or {}):
                return str(receiver["protocols"][protocol]["endpoint"])
        raise AssertionError(f"no OTLP {protocol} receiver {receiver_name or ''} in the config")

    @property
    def otlp_grpc(self) -> str:
        return self.receiver_endpoint("grpc")

    @property
    def otlp_http(self) -> str:
        return f"http://{self.receiver_endpoint('http')}"

    def start(self, timeout: float = 30) -> CollectorProcess:
        self.config_path.write_text(yaml.safe_dump(self.local.config, sort_keys=False))
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
        env.update(self.local.env)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(self.binary), f"--config={self.config_path}"], stdout=log, stderr=subprocess.STDOUT, env=env
            )
        self.wait_ready(timeout)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None, "collector not started"
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, timeout: float) -> None:
        """Ready when the health check says so (without one: when the OTLP gRPC port accepts)."""
        deadline = time.monotonic() + timeout
        url = self.local.health_url
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"collector exited ({self.process and self.process.returncode}):\n{self.log_tail()}")
            try:
                if url is not None:
                    with urllib.request.urlopen(url, timeout=1) as reply:
                        if reply.status == 200:
                            return
                else:
                    host, port = self.otlp_grpc.rsplit(":", 1)
                    with socket.create_connection((host, int(port)), timeout=1):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"collector not ready after {timeout} s:\n{self.log_tail()}")

    def sample(self) -> None:
        """Record CPU seconds and peak RSS from /proc while the process lives."""
        if not self.alive():
            return
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
            stat = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return
        hwm = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
        if hwm:
            self.peak_rss_kib = max(self.peak_rss_kib, int(hwm.group(1)))
        ticks = os.sysconf("SC_CLK_TCK")
        self.cpu_seconds = (int(stat[11]) + int(stat[12])) / ticks  # utime + stime

    def metric(self, name: str) -> float:
        """Sum of a collector self-metric over its labels (0 when absent; ``_total`` suffix optional)."""
        if self.local.metrics_url is None:
            raise AssertionError("the config exposes no Prometheus self-metrics")
        with urllib.request.urlopen(self.local.metrics_url, timeout=5) as reply:
            text = reply.read().decode()
        pattern = re.compile(rf"^{re.escape(name)}(?:_total)?(?:\{{[^}}]*\}})?\s+(\S+)$", re.MULTILINE)
        return sum(float(value) for value in pattern.findall(text))

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, as an OOM kill or a node loss would do."""
        if self.alive():
            self.sample()
            os.kill(self.pid, signal.SIGKILL)
            assert self.process is not None
            self.process.wait(10)

    def stop(self, timeout: float = 20) -> None:
        if not self.alive():
            return
        self.sample()
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def log_tail(self, lines: int = 30) -> str:
        """The collector's last log lines, without gRPC's connection chatter, each cut to 300 characters."""
        if not self.log_path.exists():
            return ""
        kept = [line[:300] for line in self.log_path.read_text(errors="replace").splitlines() if "grpc_log" not in line]
        return "\n".join(kept[-lines:])


class Pipeline:
    """A generated collector config running locally: the collector, and one sink per traces exporter."""

    def __init__(self, binary: Path, config: dict[str, Any], workdir: Path) -> None:
        self.sinks = {name: OtlpSink(protocol) for name, protocol in traces_exporters(config).items()}
        self.local: LocalConfig = localize(config, self.sinks, workdir / "storage")
        self.collector = CollectorProcess(binary, self.local, workdir)


@contextmanager
def running_pipeline(
    binary: Path, config: dict[str, Any], workdir: Path, env: dict[str, str] | None = None
) -> Iterator[Pipeline]:
    """Sinks and collector up (``env`` added to the collector's); everything stopped on the way out."""
    pipeline = Pipeline(binary, config, workdir)
    pipeline.collector.local.env.update(env or {})
    try:
        for sink in pipeline.sinks.values():
            sink.start()
        pipeline.collector.start()
        yield pipeline
    except BaseException:
        print(f"collector log ({pipeline.collector.log_path}):\n{pipeline.collector.log_tail()}")
        raise
    finally:
        pipeline.collector.stop()
        for sink in pipeline.sinks.values():
            sink.stop()
