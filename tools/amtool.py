"""amtool at the Alertmanager release the platform deploys, for ``amtool check-config``.

Debian's ``prometheus-alertmanager`` ships amtool 0.25, older than the Alertmanager that
kube-prometheus-stack 88.5.3 runs (``alertmanager.alertmanagerSpec.image.tag`` v0.34.0): it refuses
fields the deployed one accepts, such as a webhook receiver's ``url_file`` (Alertmanager 0.26). So
``python -m tools.amtool`` prints the path of amtool at ``ALERTMANAGER``, building it on first use
with ``go install`` from the Go module proxy into the project's cache (``tools.go_install``: the
module and build caches every Go build shares). ``find()`` is what the tests call: that build if present,
else an amtool on PATH.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.go_install import go_install  # noqa: E402
from tools.paths import tool_cache  # noqa: E402

# renovate: datasource=github-releases depName=prometheus/alertmanager (kube-prometheus-stack 88.5.3 values)
ALERTMANAGER = "v0.34.0"
PACKAGE = "github.com/prometheus/alertmanager/cmd/amtool"


def cached_binary(version: str = ALERTMANAGER) -> Path:
    return tool_cache() / f"amtool-{version}" / "amtool"


def build(version: str = ALERTMANAGER) -> Path:
    """``go install`` amtool at ``version`` (module proxy only, local toolchain); its path."""
    stamp = f"-X github.com/prometheus/common/version.Version={version.lstrip('v')}"  # so --version tells
    return go_install(PACKAGE, version, cached_binary(version), ldflags=stamp)


def version_of(binary: str) -> tuple[int, ...]:
    """``amtool --version`` as numbers (``0.25.0`` -> ``(0, 25, 0)``); () when unreadable."""
    result = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False, timeout=30)
    match = re.search(r"version v?(\d+)\.(\d+)\.(\d+)", result.stdout + result.stderr)
    return tuple(int(part) for part in match.groups()) if match else ()


def find() -> str | None:
    """The cached build at ``ALERTMANAGER`` if present, else an amtool on PATH, else None."""
    cached = cached_binary()
    return str(cached) if cached.exists() else shutil.which("amtool")


def main() -> int:
    print(build())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
