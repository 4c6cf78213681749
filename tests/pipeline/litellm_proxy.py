"""The real LiteLLM proxy from PyPI, at the image's version, running the generated config.yaml on 127.0.0.1.

``proxy_python()`` creates (on first use) a venv of its own under the project's cache, never the
project's venv: ``litellm[proxy]`` at the version of ``versions.IMAGES["litellm"]`` plus the
packages the image adds for the callbacks the generated config turns on (``otel`` needs the
OpenTelemetry SDK and OTLP exporters, ``prometheus`` needs prometheus_client).

``generated(plan)`` is LiteLLM's ``config.yaml`` and container environment as the plan deploys
them; ``localize`` changes only addresses: each engine's ``api_base`` to a local mock engine, the
OTLP endpoint to a local collector.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

import versions
from offline.plan import Plan
from tools.paths import tool_cache

PROMETHEUS_CLIENT = "prometheus_client==0.20.0"
"""LiteLLM's own requirements.txt pin for the proxy's /metrics (not an install extra of the package)."""


def litellm_version(image: str = versions.IMAGES["litellm"]) -> str:
    """``ghcr.io/berriai/litellm:v1.80.12-stable`` -> ``1.80.12`` (the PyPI release of that image)."""
    match = re.search(r":v?(\d+\.\d+\.\d+)(?:-[a-z.]+)?$", image)
    if not match:
        raise ValueError(f"cannot read a LiteLLM release from the image {image!r}")
    return match.group(1)


def proxy_python(version: str | None = None) -> Path:
    """The venv's python, with ``litellm[proxy]==version`` installed (created once, then reused)."""
    version = version or litellm_version()
    venv = tool_cache() / f"litellm-proxy-{version}"
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    if stamp.exists() and python.exists():
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, f"litellm[proxy]=={version}", PROMETHEUS_CLIENT], check=True)
    # The OTel exporters at the API version litellm's dependencies already pulled in.
    api = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('opentelemetry-api'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    subprocess.run([*pip, f"opentelemetry-sdk=={api}", f"opentelemetry-exporter-otlp=={api}"], check=True)
    stamp.write_text(f"litellm[proxy]=={version}\n")
    return python


def generated(plan: Plan) -> tuple[dict[str, Any], dict[str, str]]:
    """LiteLLM's config.yaml and the plain environment of its container, as the plan deploys them."""
    (config_map,) = [r for r in plan.k8s("ConfigMap") if r.k8s_name == "litellm-config"]
    (deployment,) = [r for r in plan.k8s("Deployment") if r.k8s_name == "litellm"]
    (container,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
    return yaml.safe_load(config_map.inputs["data"]["config.yaml"]), env


def localize(config: Mapping[str, Any], api_bases: Mapping[str, str]) -> dict[str, Any]:
    """``config`` with each engine's ``api_base`` replaced by ``api_bases[engine]`` (all must be given)."""
    local = copy.deepcopy(dict(config))
    for entry in local["model_list"]:
        engine = entry["model_info"]["engine"]
        if engine not in api_bases:
            raise KeyError(f"no local engine for {engine!r} (LiteLLM routes to it)")
        entry["litellm_params"]["api_base"] = api_bases[engine]
    return local


@dataclass
class LiteLlmProxy:
    """``litellm --config ... --port ... --num_workers 1``, as the Deployment runs it, on 127.0.0.1."""

    python: Path
    config: dict[str, Any]
    env: dict[str, str]
    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "litellm.log"

    def start(self, timeout: float = 240) -> LiteLlmProxy:
        config_path = self.workdir / "config.yaml"
        config_path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        command = [
            str(self.python.parent / "litellm"), "--config", str(config_path),
            "--host", "127.0.0.1", "--port", str(self.port), "--num_workers", "1",
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, env={"PATH": os.environ.get("PATH", ""), "HOME": str(self.workdir), **self.env},
                stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"LiteLLM exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health/liveliness", timeout=2) as reply:
                    if reply.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"LiteLLM not live after {timeout} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 20) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
