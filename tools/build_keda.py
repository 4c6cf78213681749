"""Build the KEDA operator the cluster lab runs, at the release of the chart the program deploys.

``python -m tools.build_keda`` prints the path of ``keda-operator`` built from the Go module proxy
at ``versions.CHARTS["keda"]``'s app version. The lab runs it as a local process against the
simulated API server, so a ``ScaledObject`` the program creates is reconciled by the real KEDA
controller and the HPA it owns can be read back (kwok runs no pods, so the chart's operator Pod
never starts).

KEDA's ``go.mod`` pins some dependencies with ``replace`` directives, which ``go install pkg@version``
refuses; so the build is a small wrapper module that requires KEDA and repeats those replacements,
read from KEDA's own ``go.mod`` at that version (nothing retyped). Same Go caches as every build.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.build_collector import go_env  # noqa: E402
from tools.paths import tool_cache  # noqa: E402

MODULE = "github.com/kedacore/keda/v2"
OPERATOR = f"{MODULE}/cmd/operator"
# The app version of keda-2.20.2.tgz (Chart.yaml appVersion), the image the chart deploys.
KEDA = "v2.20.2"


def replaces(go_mod: str) -> list[str]:
    """The ``old => new version`` lines of a go.mod's replace directives (block or single line)."""
    lines: list[str] = []
    in_block = False
    for raw in go_mod.splitlines():
        line = raw.split("//", 1)[0].strip()
        if line.startswith("replace ("):
            in_block = True
        elif in_block and line == ")":
            in_block = False
        elif in_block and "=>" in line:
            lines.append(line)
        elif line.startswith("replace ") and "=>" in line:
            lines.append(line.removeprefix("replace ").strip())
    return lines


def go_directive(go_mod: str) -> str:
    match = re.search(r"^go (\S+)$", go_mod, re.MULTILINE)
    if match is None:
        raise ValueError("KEDA's go.mod has no go directive")
    return match.group(1)


def wrapper_go_mod(keda_go_mod: str, version: str) -> str:
    block = "\n".join(f"\t{line}" for line in replaces(keda_go_mod))
    return (
        "module llm-tracing-infra/keda-build\n\n"
        f"go {go_directive(keda_go_mod)}\n\n"
        f"require {MODULE} {version}\n\n"
        f"replace (\n{block}\n)\n"
    )


def cached_binary(version: str = KEDA) -> Path:
    return tool_cache() / f"keda-{version}" / "keda-operator"


def build(version: str = KEDA) -> Path:
    """The operator binary for ``version``, built on first use."""
    target = cached_binary(version)
    work = target.parent
    if target.exists():
        return target
    env = go_env()
    info = subprocess.run(
        ["go", "mod", "download", "-json", f"{MODULE}@{version}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    go_mod = json.loads(info).get("GoMod")
    if not go_mod:
        raise RuntimeError(f"go mod download {MODULE}@{version} named no go.mod: {info[:400]}")
    work.mkdir(parents=True, exist_ok=True)
    (work / "go.mod").write_text(wrapper_go_mod(Path(go_mod).read_text(), version))
    subprocess.run(["go", "get", f"{OPERATOR}@{version}"], cwd=work, env=env, check=True)
    # Stripped (-s -w): the lab never debugs the operator, and a ~100 MB binary links faster without DWARF.
    flags = f"-s -w -X github.com/kedacore/keda/v2/version.Version={version.lstrip('v')}"
    build_command = ["go", "build", "-trimpath", f"-ldflags={flags}", "-o", str(target), OPERATOR]
    subprocess.run(build_command, cwd=work, env=env, check=True)
    return target


def main() -> int:
    print(build())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
