"""The offline preview: run the program, judge the plan, write ``plan.json`` and manifests, report."""

from __future__ import annotations

import shutil
import sys
from collections import defaultdict
from pathlib import Path
from typing import TextIO

import pulumi
import yaml

from offline import policy_bridge
from offline.checks import run_checks
from offline.footprint import describe, footprint
from offline.plan import COMPONENT_PREFIX, Plan, Resource
from offline.runner import ROOT, run_program

EXIT_OK, EXIT_FINDINGS, EXIT_CONFIG = 0, 1, 2
# libyaml's emitter when PyYAML has it (ten times faster on the gpu stack's manifests; same documents)
SAFE_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def preview(
    stack: str,
    overrides: dict[str, str] | None = None,
    program: Path | None = None,
    out: Path | None = None,
    stream: TextIO | None = None,
    root: Path = ROOT,
    secrets: dict[str, str] | None = None,
) -> tuple[Plan | None, int]:
    """Run everything the offline preview does; return the plan (None on bad config) and exit code."""
    stream = stream or sys.stdout
    try:
        plan = run_program(stack, overrides, program=program, root=root, secrets=secrets)
    except pulumi.RunError as exc:
        print(f"error: {exc}", file=stream)
        return None, EXIT_CONFIG
    plan.add(run_checks(plan))
    plan.add(policy_bridge.evaluate(plan))
    plan.findings.sort(key=lambda f: (f.level != "mandatory", f.check, f.urn or "", f.message))
    if out is not None:
        write_outputs(plan, out)
    report(plan, stream)
    mandatory = [f for f in plan.findings if f.level == "mandatory"]
    return plan, EXIT_FINDINGS if mandatory else EXIT_OK


def write_outputs(plan: Plan, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "plan.json").write_text(plan.dumps())
    manifests = out / "manifests"
    if manifests.exists():
        shutil.rmtree(manifests)
    manifests.mkdir()
    for component, objects in sorted(manifests_by_component(plan).items()):
        documents = [obj.inputs for obj in objects]
        text = yaml.dump_all(documents, Dumper=SAFE_DUMPER, sort_keys=True)
        (manifests / f"{component}.yaml").write_text(text)


def top_component(plan: Plan, resource: Resource) -> str:
    """Name of the outermost project component that owns ``resource`` (``stack`` if none)."""
    index = plan.by_urn()
    owner = "stack"
    for urn in [resource.urn, *plan.ancestors(resource.urn)]:
        if urn in index and index[urn].type.startswith(COMPONENT_PREFIX):
            owner = index[urn].name
    return owner


def manifests_by_component(plan: Plan) -> dict[str, list[Resource]]:
    grouped: dict[str, list[Resource]] = defaultdict(list)
    for resource in plan.resources:
        if resource.is_kubernetes_object and "kind" in resource.inputs:
            grouped[top_component(plan, resource)].append(resource)
    return grouped


def _label(resource: Resource) -> str:
    if resource.is_kubernetes_object:
        namespace = f"{resource.namespace}/" if resource.namespace else ""
        return f"{resource.kind} {namespace}{resource.k8s_name}"
    if resource.type.startswith("kubernetes:helm.sh"):
        chart = str(resource.inputs.get("chart", "")).rsplit("/", 1)[-1]
        version = resource.inputs.get("version", "")
        return f"Helm chart {resource.name} ({chart}{' ' + str(version) if version else ''})"
    return f"{resource.type.rsplit(':', 1)[-1]} {resource.name}"


def report(plan: Plan, stream: TextIO) -> None:
    deployable = [r for r in plan.resources if r.is_deployable]
    print(
        f"Offline preview of stack '{plan.stack}': {len(plan.resources)} resources, "
        f"{len(deployable)} to deploy, {len(plan.waves)} waves",
        file=stream,
    )
    grouped: dict[str, list[Resource]] = defaultdict(list)
    for resource in deployable:
        grouped[top_component(plan, resource)].append(resource)
    print("\nResources by component:", file=stream)
    for component in sorted(grouped):
        print(f"  {component} ({len(grouped[component])})", file=stream)
        for resource in grouped[component]:
            print(f"    - {_label(resource)}", file=stream)
    print("\nDeployment waves (each waits only on earlier waves):", file=stream)
    index = plan.by_urn()
    for number, wave in enumerate(plan.waves, start=1):
        names = ", ".join(_label(index[urn]) for urn in wave)
        print(f"  {number:2d}. {names}", file=stream)
    print("", file=stream)
    for line in describe(footprint(plan, top_component)):
        print(line, file=stream)
    print("", file=stream)
    if not plan.findings:
        print("Findings: none", file=stream)
    for finding in plan.findings:
        where = f" [{index[finding.urn].name}]" if finding.urn in index else ""
        print(f"{finding.level.upper()}: {finding.check}{where}: {finding.message}", file=stream)
    mandatory = sum(f.level == "mandatory" for f in plan.findings)
    advisory = sum(f.level == "advisory" for f in plan.findings)
    verdict = "FAILED" if mandatory else "ok"
    print(
        f"\nsummary: stack={plan.stack} resources={len(plan.resources)} waves={len(plan.waves)} "
        f"mandatory={mandatory} advisory={advisory} -> {verdict}",
        file=stream,
    )
