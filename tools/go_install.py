"""``go install PACKAGE@VERSION`` into the project's tool cache, on the Go caches every build shares.

For the test tools no registry ships at the right version (amtool, actionlint): the module proxy
only, the local toolchain only, the same module and build cache as the Pulumi, Kubernetes and
collector builds, so a cold machine downloads each module once.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tools.build_collector import go_env


def go_install(package: str, version: str, target: Path, ldflags: str = "") -> Path:
    """Build ``package`` at ``version`` to ``target`` (a binary path) unless it is there; its path."""
    if target.exists():
        return target
    env = {**go_env(), "GOBIN": str(target.parent), "GOFLAGS": ""}  # pkg@version takes no -mod flag
    target.parent.mkdir(parents=True, exist_ok=True)
    # Stripped (-s -w), like every build here: tests run these tools, nobody debugs them.
    flags = ["-trimpath", f"-ldflags=-s -w {ldflags}".strip()]
    subprocess.run(["go", "install", *flags, f"{package}@{version}"], env=env, check=True)
    if not target.exists():
        raise FileNotFoundError(f"go install {package}@{version} left no {target}")
    return target
