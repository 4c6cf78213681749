"""The real LiteLLM proxy from PyPI, at the image's version, running the generated config.yaml on 127.0.0.1.

``proxy_python()`` creates (on first use) a venv of its own under the project's cache, never the
project's venv: ``litellm[proxy]`` at the version of ``versions.IMAGES["litellm"]`` plus the
packages the image adds for the callbacks the generated config turns on (``otel`` needs the
OpenTelemetry SDK and OTLP exporters, ``prometheus`` needs prometheus_client).

``generated(plan)`` is LiteLLM's ``config.yaml`` and container environment as the plan deploys
them; ``localize`` changes only addresses: each engine's ``api_base`` to a local mock engine, the
OTLP endpoint to a local collector.

``read_only_root=True`` runs the proxy as the pod does: on a read-only root filesystem, with
tmpfs stand-ins for the pod's emptyDirs (``/tmp``, ``/var/lib/litellm``) and the config mounted
read-only, in a user and mount namespace of its own (``unshare``; nothing outside it changes).
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

READ_ONLY_ROOT = r"""
root=$1 config=$2 venv=$3; shift 3
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
mount --rbind / "$root"
for target in $(findmnt -rn -o TARGET | grep "^$root" | sort -u); do
  case "$target" in "$root"/proc*|"$root"/sys*|"$root"/dev*) continue;; esac
  mount -o remount,bind,ro "$target"
done
for probe in "$root/.write-probe" "$root$venv/.write-probe"; do
  if touch "$probe" 2>/dev/null; then echo "$probe is writable: not a read-only root" >&2; exit 97; fi
done
mount -t tmpfs -o size=256m tmpfs "$root/tmp"
mount -t tmpfs -o size=64m tmpfs "$root/var/lib" && mkdir "$root/var/lib/litellm"
mount --bind "$config" "$root/mnt" && mount -o remount,bind,ro "$root/mnt"
exec chroot "$root" "$@"
"""
"""Run ``"$@"`` chrooted into a read-only bind of ``/``: tmpfs on /tmp and /var/lib (the pod's emptyDirs),
the config directory read-only on /mnt. Fails (exit 97) rather than run on a root that stayed writable."""
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
    read_only_root: bool = False
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "litellm.log"

    def start(self, timeout: float = 240) -> LiteLlmProxy:
        config_dir = self.workdir / "config"
        config_dir.mkdir(exist_ok=True)
        (config_dir / "config.yaml").write_text(yaml.safe_dump(self.config, sort_keys=False))
        config_path = "/mnt/config.yaml" if self.read_only_root else str(config_dir / "config.yaml")
        command = [
            str(self.python.parent / "litellm"), "--config", config_path,
            "--host", "127.0.0.1", "--port", str(self.port), "--num_workers", "1",
        ]
        if self.read_only_root:
            root = self.workdir / "root"
            root.mkdir(exist_ok=True)
            venv = str(self.python.parent.parent)
            command = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-euc", READ_ONLY_ROOT, "sh",
                       str(root), str(config_dir), venv, *command]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, env={"PATH": os.environ.get("PATH", ""), "HOME": str(self.workdir), **self.env},
                stdout=log, stderr=subprocess.STDOUT, cwd="/" if self.read_only_root else self.workdir,
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
