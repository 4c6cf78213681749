"""Build the OpenTelemetry Collector the pipeline tests and the benchmark run, with the official builder.

``python -m tools.build_collector`` prints the path of a collector binary holding exactly the
components of ``tools/otelcol-builder.yaml``, at the release of the image the program deploys
(``versions.IMAGES["otelCollector"]``). Before building it checks that manifest against the
collector config the program generates (``--stack dev --stack gpu``): a component the config
uses and the manifest lacks fails with the module line to add; one the manifest holds and no
config uses fails too, so the binary stays the deployed image's behaviour for exactly what runs.

The builder and the binary live under ``~/.cache/llm-tracing-infra`` (``LLM_TRACING_INFRA_CACHE``
overrides); the Go module and build caches are the ones every Go build of the project shares
(``tools.toolchain.go_caches()``, the Pulumi toolchain's), so CI on one machine fetches each module
once. The binary is keyed by a hash of the manifest, the builder version and the Go version and
rebuilt only when one changes.
Modules come from the Go module proxy only (``go env GOPROXY`` without ``direct``), with the
local Go toolchain only (``GOTOOLCHAIN=local``): nothing else is downloaded.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import versions  # noqa: E402
from tools.paths import tool_cache  # noqa: E402
from tools.toolchain import go_caches  # noqa: E402

MANIFEST = ROOT / "tools" / "otelcol-builder.yaml"
CORE = "go.opentelemetry.io/collector"
CONTRIB = "github.com/open-telemetry/opentelemetry-collector-contrib"
KINDS = ("receivers", "processors", "exporters", "extensions", "connectors")

COMPONENT_MODULES: dict[tuple[str, str], str] = {
    ("receivers", "otlp"): f"{CORE}/receiver/otlpreceiver",
    ("processors", "batch"): f"{CORE}/processor/batchprocessor",
    ("processors", "memory_limiter"): f"{CORE}/processor/memorylimiterprocessor",
    # The chart renames k8sattributes to k8s_attributes (0.158.0's name; the old one is an alias).
    ("processors", "k8s_attributes"): f"{CONTRIB}/processor/k8sattributesprocessor",
    ("processors", "k8sattributes"): f"{CONTRIB}/processor/k8sattributesprocessor",
    ("processors", "resource"): f"{CONTRIB}/processor/resourceprocessor",
    ("processors", "attributes"): f"{CONTRIB}/processor/attributesprocessor",
    ("processors", "transform"): f"{CONTRIB}/processor/transformprocessor",
    ("processors", "filter"): f"{CONTRIB}/processor/filterprocessor",
    ("processors", "redaction"): f"{CONTRIB}/processor/redactionprocessor",
    ("processors", "tail_sampling"): f"{CONTRIB}/processor/tailsamplingprocessor",
    ("processors", "probabilistic_sampler"): f"{CONTRIB}/processor/probabilisticsamplerprocessor",
    ("processors", "resourcedetection"): f"{CONTRIB}/processor/resourcedetectionprocessor",
    # 0.158.0 names the OTLP exporters otlp_grpc / otlp_http; otlp / otlphttp are deprecated aliases.
    ("exporters", "otlp_grpc"): f"{CORE}/exporter/otlpexporter",
    ("exporters", "otlp"): f"{CORE}/exporter/otlpexporter",
    ("exporters", "otlp_http"): f"{CORE}/exporter/otlphttpexporter",
    ("exporters", "otlphttp"): f"{CORE}/exporter/otlphttpexporter",
    ("exporters", "debug"): f"{CORE}/exporter/debugexporter",
    ("exporters", "prometheus"): f"{CONTRIB}/exporter/prometheusexporter",
    ("extensions", "file_storage"): f"{CONTRIB}/extension/storage/filestorage",
    ("extensions", "health_check"): f"{CONTRIB}/extension/healthcheckextension",
    ("extensions", "healthcheckv2"): f"{CONTRIB}/extension/healthcheckv2extension",
    ("extensions", "pprof"): f"{CONTRIB}/extension/pprofextension",
    ("extensions", "bearertokenauth"): f"{CONTRIB}/extension/bearertokenauthextension",
    ("extensions", "zpages"): f"{CORE}/extension/zpagesextension",
    ("connectors", "spanmetrics"): f"{CONTRIB}/connector/spanmetricsconnector",
    ("connectors", "servicegraph"): f"{CONTRIB}/connector/servicegraphconnector",
    ("connectors", "forward"): f"{CORE}/connector/forwardconnector",
}
"""Component type -> Go module, for every component a generated config may name."""
BENCH_ONLY = {f"{CORE}/processor/batchprocessor"}
"""Modules the manifest may hold beyond the generated configs: the benchmark's minimal comparison
config is the classic ``otlp -> batch -> otlp``. No generated config may use them unnoticed:
they are checked like any other component when a config names them."""


class BuildError(RuntimeError):
    """The collector cannot be built: say what to change."""


class GoMissing(BuildError):
    """No Go toolchain on PATH (the pipeline tests skip on this outside CI)."""


def cache_root() -> Path:
    return tool_cache() / "otelcol"


def collector_release() -> str:
    """``0.158.0``: the tag of the deployed collector image, which the builder and modules follow."""
    tag = versions.IMAGES["otelCollector"].rsplit(":", 1)[1]
    if not re.fullmatch(r"\d+\.\d+\.\d+", tag):
        raise BuildError(f"collector image tag {tag!r} is not a release version")
    return tag


# ---------------------------------------------------------------------------------------------
# Manifest <-> generated config
# ---------------------------------------------------------------------------------------------


def load_manifest(path: Path = MANIFEST) -> dict[str, Any]:
    manifest = yaml.safe_load(path.read_text())
    if not isinstance(manifest, dict) or "dist" not in manifest:
        raise BuildError(f"{path} is not an ocb manifest (no dist section)")
    return manifest


def manifest_modules(manifest: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """``{kind: {module path: version}}`` of the manifest's components."""
    modules: dict[str, dict[str, str]] = {}
    for kind in KINDS:
        for entry in manifest.get(kind) or []:
            path, _, version = str(entry["gomod"]).partition(" ")
            modules.setdefault(kind, {})[path] = version.strip()
    return modules


def check_versions(manifest: Mapping[str, Any], release: str) -> list[str]:
    """Component modules must be the deployed release: ``v<release>`` (providers: v1.x of it)."""
    problems = []
    for kind, modules in manifest_modules(manifest).items():
        for path, version in modules.items():
            if version != f"v{release}" and not (path.startswith(CONTRIB) and version.startswith("v1.")):
                problems.append(f"{kind}: {path} {version} is not v{release} (the deployed collector image)")
    return problems


def config_components(config: Mapping[str, Any]) -> set[tuple[str, str]]:
    """``(kind, type)`` of every component the config defines (``otlp/tempo`` -> ``otlp``).

    Defined, not only used in a pipeline: the collector refuses a config naming an unknown type.
    """
    return {(kind, str(key).split("/", 1)[0]) for kind in KINDS for key in (config.get(kind) or {})}


def check_components(manifest: Mapping[str, Any], configs: Iterable[Mapping[str, Any]]) -> list[str]:
    """Differences between the manifest's components and those the generated configs use."""
    in_manifest = {path for modules in manifest_modules(manifest).values() for path in modules}
    needed: dict[str, str] = {}
    problems = []
    for kind, name in sorted(set().union(*(config_components(c) for c in configs))):
        module = COMPONENT_MODULES.get((kind, name))
        if module is None:
            problems.append(
                f"the config uses {kind[:-1]} {name!r}, which tools/build_collector.py does not know: "
                "add its Go module to COMPONENT_MODULES and to tools/otelcol-builder.yaml"
            )
            continue
        needed[module] = f"{kind}/{name}"
        if module not in in_manifest:
            problems.append(
                f"the config uses {kind[:-1]} {name!r} but tools/otelcol-builder.yaml lacks it: "
                f"add under {kind}: '- gomod: {module} v{collector_release()}'"
            )
    for module in sorted(in_manifest - set(needed) - BENCH_ONLY):
        problems.append(f"tools/otelcol-builder.yaml holds {module}, which no generated config uses: remove it")
    return problems


def generated_configs(stacks: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The collector config of each stack's offline preview (imports the Pulumi program)."""
    from tests.pipeline.collector import generated_config

    return {stack: generated_config(stack) for stack in stacks}


# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------


def go_env() -> dict[str, str]:
    """Environment for ``go``: caches under ours, the module proxy only, the local toolchain only."""
    go = shutil.which("go")
    if go is None:
        raise GoMissing("no `go` on PATH: install Go (>= 1.24) to build the collector")
    proxies = subprocess.run([go, "env", "GOPROXY"], capture_output=True, text=True, check=True).stdout.strip()
    only_proxies = [p for p in re.split(r"[,|]", proxies) if p and p not in ("direct", "off")]
    if not only_proxies:
        raise BuildError(f"GOPROXY={proxies!r} names no module proxy; set one (never direct VCS access)")
    flags = subprocess.run([go, "env", "GOFLAGS"], capture_output=True, text=True, check=True).stdout.split()
    root = cache_root()
    shared = go_caches()
    return {
        **os.environ,
        "GOBIN": str(root / "bin"),
        # the module and build cache every Go build of the project shares (an explicit setting wins)
        "GOMODCACHE": os.environ.get("GOMODCACHE") or shared["GOMODCACHE"],
        "GOCACHE": os.environ.get("GOCACHE") or shared["GOCACHE"],
        "GOGC": shared["GOGC"],
        "GOPROXY": ",".join(only_proxies),
        "GOFLAGS": " ".join([f for f in flags if not f.startswith("-mod=")] + ["-mod=mod"]),
        "GOTOOLCHAIN": "local",
        "CGO_ENABLED": "0",
    }


def go_version(env: Mapping[str, str]) -> str:
    return subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, check=True, env=dict(env)).stdout


def builder_binary(env: Mapping[str, str], release: str) -> Path:
    """``builder`` v<release>, installed once into the cache (its version is kept next to it)."""
    builder = Path(env["GOBIN"]) / "builder"
    stamp = builder.with_suffix(".version")
    if builder.exists() and stamp.exists() and stamp.read_text() == release:
        return builder
    print(f"installing go.opentelemetry.io/collector/cmd/builder@v{release}", file=sys.stderr)
    subprocess.run(
        ["go", "install", f"go.opentelemetry.io/collector/cmd/builder@v{release}"], env=dict(env), check=True
    )
    stamp.write_text(release)
    return builder


def binary_path(manifest_text: str, release: str, go: str) -> Path:
    digest = hashlib.sha256(f"{release}\n{go}\n{manifest_text}".encode()).hexdigest()[:16]
    name = str(yaml.safe_load(manifest_text)["dist"]["name"])
    return cache_root() / "dist" / digest / name


def build(manifest_path: Path = MANIFEST, quiet: bool = False) -> Path:
    """The collector binary of the manifest: from the cache, or built now (minutes on a cold cache)."""
    release = collector_release()
    manifest_text = manifest_path.read_text()
    manifest = load_manifest(manifest_path)
    if problems := check_versions(manifest, release):
        raise BuildError("; ".join(problems))
    env = go_env()
    target = binary_path(manifest_text, release, go_version(env))
    if target.exists():
        return target
    builder = builder_binary(env, release)
    target.parent.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{target.parent.name}.", dir=target.parent.parent))
    try:
        manifest["dist"]["output_path"] = str(work)
        (work / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
        started = time.monotonic()
        print(f"building the collector from {manifest_path.name} (cold cache: many minutes)", file=sys.stderr)
        result = subprocess.run(
            [str(builder), f"--config={work / 'manifest.yaml'}"], env=env, capture_output=quiet, text=True
        )
        if result.returncode != 0:
            raise BuildError(f"ocb failed (exit {result.returncode}){': ' + result.stderr[-4000:] if quiet else ''}")
        built = work / target.name
        if not built.exists():
            raise BuildError(f"ocb succeeded but wrote no {built}")
        work.rename(target.parent)
        print(f"built in {time.monotonic() - started:.0f} s", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", action="append", help="check the manifest against these stacks (dev, gpu)")
    parser.add_argument("--no-check", action="store_true", help="build without comparing with generated configs")
    args = parser.parse_args(argv)
    try:
        if not args.no_check:
            configs = generated_configs(args.stack or ["dev", "gpu"])
            if problems := check_components(load_manifest(), configs.values()):
                raise BuildError("manifest and generated config differ:\n  " + "\n  ".join(problems))
        binary = build()
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(binary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
