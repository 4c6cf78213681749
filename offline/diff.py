"""Compare two offline previews (``plan.json`` dicts) and render the difference as Markdown.

Pure functions only: no git, no subprocess (those live in ``offline/diff_git.py``), so every row can
be tested on two plans. What a reviewer needs from a pull request's plan: which resources come and
go, which input fields of the rest change, which findings the change adds or fixes, and what it does
to the footprint and the number of deployment waves.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from offline.footprint import Totals, footprint
from offline.plan import COMPONENT_PREFIX, SECRET, Finding, Plan, Resource
from offline.preview import top_component

MARKER = "<!-- llm-tracing-infra plan diff -->"
"""First line of the comment: the workflow finds its own sticky comment by it."""
VALUE_WIDTH = 60
FIELDS_PER_RESOURCE = 8
ROWS_PER_TABLE = 40
MAX_CHARS = 60_000
"""GitHub refuses comments over 65,536 characters; past this the rendering stops, saying so."""
_ABSENT = object()
"""A field one side does not have."""


def load_plan(data: dict[str, Any]) -> Plan:
    """A :class:`Plan` from ``plan.json``.

    ``plan.json`` does not record whether a resource is custom; what the footprint needs of it
    (Kubernetes objects and Helm charts) follows from the type: project components and the stack
    are the only non-custom ones, provider-side chart components are remote.
    """
    resources = []
    for item in data.get("resources", []):
        typ = str(item["type"])
        component = typ.startswith(COMPONENT_PREFIX) or typ == "pulumi:pulumi:Stack"
        remote = typ.startswith("kubernetes:helm.sh/v4") or typ.startswith("kubernetes:yaml/v2")
        resources.append(Resource(
            urn=item["urn"], type=typ, name=item["name"], parent=item.get("parent"),
            custom=not component and not remote, remote=remote,
            dependencies=list(item.get("dependencies") or []), inputs=dict(item.get("inputs") or {}),
            options=dict(item.get("options") or {}),
        ))  # fmt: skip
    findings = [Finding(f["check"], f["level"], f.get("urn"), f["message"]) for f in data.get("findings", [])]
    return Plan(stack=str(data.get("stack", "")), resources=resources, findings=findings,
                waves=[list(w) for w in data.get("waves", [])])


def label(resource: Resource) -> str:
    """How a reviewer names a resource: ``Deployment llm/vllm``, ``Helm chart tempo``, ``LiteLlm litellm``."""
    if resource.is_kubernetes_object and "kind" in resource.inputs:
        namespace = f"{resource.namespace}/" if resource.namespace else ""
        return f"{resource.kind} {namespace}{resource.k8s_name}"
    if resource.type.startswith("kubernetes:helm.sh"):
        return f"Helm chart {resource.name}"
    if resource.type.startswith("pulumi:providers:"):
        return f"provider {resource.type.rsplit(':', 1)[-1]} {resource.name}"
    return f"{resource.type.rsplit(':', 1)[-1]} {resource.name}"


def _key(item: Any) -> str | None:
    return str(item["name"]) if isinstance(item, dict) and isinstance(item.get("name"), str) else None


def flatten(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Leaf paths of a nested input: ``spec.template.spec.containers[vllm].args``.

    List items that carry a unique ``name`` (containers, env, ports, volumes) are addressed by it,
    so inserting one item does not show every later item as changed; a list of plain values (args,
    hostnames) is one leaf, compared item by item when rendered.
    """
    if isinstance(value, dict) and value:
        for key in sorted(value):
            yield from flatten(value[key], f"{path}.{key}" if path else str(key))
    elif isinstance(value, list) and value and not all(_scalar(item) for item in value):
        names = [_key(item) for item in value]
        by_name = None not in names and len(set(names)) == len(names)
        for index, item in enumerate(value):
            if by_name:
                rest = {k: v for k, v in item.items() if k != "name"}
                yield from flatten(rest, f"{path}[{names[index]}]")
            else:
                yield from flatten(item, f"{path}[{index}]")
    else:
        yield path, value


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def short(value: Any) -> str:
    """A value cut to one short line; secrets stay ``[secret]`` (plan.json never holds their text)."""
    if value is _ABSENT:
        return "(absent)"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = text.replace("\n", "\u21b5")
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "\u2026"



@dataclass
class FieldChange:
    path: str
    before: Any
    after: Any

    def describe(self) -> str:
        if SECRET in (self.before, self.after):
            return f"`{self.path}`: {SECRET} changed"
        if isinstance(self.before, str) and isinstance(self.after, str) and "\n" in self.before + self.after:
            return f"`{self.path}`: {_text_change(self.before, self.after)}"
        before, after = self.before, self.after
        if isinstance(before, list) and after is _ABSENT:
            after = []
        if isinstance(after, list) and before is _ABSENT:
            before = []
        if isinstance(before, list) and isinstance(after, list):
            return f"`{self.path}`: {_list_change(before, after)}"
        if isinstance(before, str) and isinstance(after, str):
            before, after = _around_difference(before, after)
        return f"`{self.path}`: `{short(before)}` \u2192 `{short(after)}`"


def _list_change(before: list[Any], after: list[Any]) -> str:
    """Items removed and added, in order (``args``: ``-0.9 +0.85``)."""
    matcher = difflib.SequenceMatcher(a=[short(x) for x in before], b=[short(x) for x in after], autojunk=False)
    parts = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("delete", "replace"):
            parts += [f"\u2212`{short(x)}`" for x in before[i1:i2]]
        if tag in ("insert", "replace"):
            parts += [f"+`{short(x)}`" for x in after[j1:j2]]
    shown = parts[:6] + ([f"\u2026 {len(parts) - 6} more"] if len(parts) > 6 else [])
    return "list items " + " ".join(shown)


def _around_difference(before: str, after: str) -> tuple[str, str]:
    """Two long strings cut to start shortly before where they differ, so the cut keeps the change."""
    common = next((i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b),
                  min(len(before), len(after)))
    if max(len(before), len(after)) <= VALUE_WIDTH or common < 20:
        return before, after
    start = common - 12
    return "\u2026" + before[start:], "\u2026" + after[start:]


def _text_change(before: str, after: str) -> str:
    """A multi-line value (inline YAML, a config file): lines added/removed and the first of each."""
    old, new = before.splitlines(), after.splitlines()
    removed, added = [], []
    for line in difflib.unified_diff(old, new, lineterm="", n=0):
        if line.startswith("-") and not line.startswith("---"):
            removed.append(line[1:].strip())
        elif line.startswith("+") and not line.startswith("+++"):
            added.append(line[1:].strip())
    parts = [f"text, +{len(added)}/-{len(removed)} lines"]
    if removed:
        parts.append(f"first removed `{short(removed[0])}`")
    if added:
        parts.append(f"first added `{short(added[0])}`")
    return "; ".join(parts)


def _empty(value: Any) -> bool:
    return value is _ABSENT or value == [] or value == {}


def changed_fields(before: Resource, after: Resource) -> list[FieldChange]:
    old = dict(flatten({"inputs": before.inputs, "options": before.options}))
    new = dict(flatten({"inputs": after.inputs, "options": after.options}))
    changes = []
    for path in sorted(old.keys() | new.keys()):
        a, b = old.get(path, _ABSENT), new.get(path, _ABSENT)
        if _empty(a) and _empty(b):  # an empty list or map means what its absence means
            continue
        if a != b:
            changes.append(FieldChange(path.removeprefix("inputs."), a, b))
    return changes


@dataclass
class StackDiff:
    stack: str
    added: list[Resource] = field(default_factory=list)
    removed: list[Resource] = field(default_factory=list)
    changed: list[tuple[Resource, list[FieldChange]]] = field(default_factory=list)
    new_findings: list[Finding] = field(default_factory=list)
    fixed_findings: list[Finding] = field(default_factory=list)
    base_footprint: Totals = field(default_factory=Totals)
    head_footprint: Totals = field(default_factory=Totals)
    base_waves: int = 0
    head_waves: int = 0
    components: dict[str, str] = field(default_factory=dict)
    """URN -> owning top-level component, for both plans."""

    @property
    def new_mandatory(self) -> list[Finding]:
        return [f for f in self.new_findings if f.level == "mandatory"]

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.removed or self.changed or self.new_findings or self.fixed_findings
                    or self.base_waves != self.head_waves or _footprint_row(self) is not None)


def _finding_key(finding: Finding) -> tuple[str, str, str, str]:
    return (finding.check, finding.level, finding.urn or "", finding.message)


def compare(base_data: dict[str, Any], head_data: dict[str, Any]) -> StackDiff:
    """Everything that differs between two ``plan.json`` dicts of one stack."""
    base, head = load_plan(base_data), load_plan(head_data)
    result = StackDiff(stack=head.stack or base.stack)
    old, new = base.by_urn(), head.by_urn()
    result.added = [new[u] for u in sorted(new.keys() - old.keys())]
    result.removed = [old[u] for u in sorted(old.keys() - new.keys())]
    for urn in sorted(old.keys() & new.keys()):
        fields = changed_fields(old[urn], new[urn])
        if fields:
            result.changed.append((new[urn], fields))
    old_findings = {_finding_key(f): f for f in base.findings}
    new_findings = {_finding_key(f): f for f in head.findings}
    result.new_findings = [new_findings[k] for k in sorted(new_findings.keys() - old_findings.keys())]
    result.fixed_findings = [old_findings[k] for k in sorted(old_findings.keys() - new_findings.keys())]
    result.base_footprint = footprint(base, top_component).total
    result.head_footprint = footprint(head, top_component).total
    result.base_waves, result.head_waves = len(base.waves), len(head.waves)
    for plan in (base, head):
        result.components.update({r.urn: top_component(plan, r) for r in plan.resources})
    return result


def _gib(value: float) -> float:
    return value / 2**30


def _delta(before: float, after: float, unit: str) -> str:
    if round(before, 2) == round(after, 2):
        return f"{after:.2f} {unit}"
    return f"{before:.2f} \u2192 {after:.2f} {unit} ({after - before:+.2f})"


def _footprint_row(diff: StackDiff) -> str | None:
    a, b = diff.base_footprint, diff.head_footprint
    pairs = [(a.cpu_requests, b.cpu_requests), (a.cpu_limits, b.cpu_limits),
             (_gib(a.memory_requests), _gib(b.memory_requests)), (_gib(a.memory_limits), _gib(b.memory_limits))]
    if all(round(x, 2) == round(y, 2) for x, y in pairs):
        return None
    return (f"requests CPU {_delta(*pairs[0], 'cores')}, memory {_delta(*pairs[2], 'GiB')}; "
            f"limits CPU {_delta(*pairs[1], 'cores')}, memory {_delta(*pairs[3], 'GiB')}")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _finding_line(finding: Finding, diff: StackDiff) -> str:
    where = f" ({diff.components.get(finding.urn, '')})" if finding.urn in diff.components else ""
    return f"- **{finding.level}** `{finding.check}`{where}: {_cell(finding.message)}"


def _capped(rows: list[str], limit: int, what: str) -> list[str]:
    if len(rows) <= limit:
        return rows
    return [*rows[:limit], f"| \u2026 | {len(rows) - limit} more {what} (`make diff` lists them all) | |"]


def render_stack(diff: StackDiff) -> list[str]:
    lines = [f"### Stack `{diff.stack}`", ""]
    if diff.unchanged:
        return [*lines, "No change to the plan.", ""]
    lines.append(f"**Resources**: {len(diff.added)} added, {len(diff.removed)} removed, {len(diff.changed)} changed")
    lines.append("")
    if diff.added or diff.removed:
        rows = [f"| added | {_cell(label(r))} | {diff.components.get(r.urn, '')} |" for r in diff.added]
        rows += [f"| removed | {_cell(label(r))} | {diff.components.get(r.urn, '')} |" for r in diff.removed]
        lines += ["| | resource | component |", "|---|---|---|", *_capped(rows, ROWS_PER_TABLE, "resources"), ""]
    if diff.changed:
        rows = []
        for resource, fields in diff.changed:
            shown = [_cell(f.describe()) for f in fields[:FIELDS_PER_RESOURCE]]
            if len(fields) > FIELDS_PER_RESOURCE:
                shown.append(f"\u2026 {len(fields) - FIELDS_PER_RESOURCE} more fields")
            rows.append(f"| {_cell(label(resource))} | {diff.components.get(resource.urn, '')} | "
                        f"{'<br>'.join(shown)} |")
        lines += ["| changed | component | fields (before \u2192 after) |", "|---|---|---|",
                  *_capped(rows, ROWS_PER_TABLE, "changed resources"), ""]
    if diff.new_findings:
        lines += ["**Findings new in the head**:", *[_finding_line(f, diff) for f in diff.new_findings], ""]
    if diff.fixed_findings:
        lines += ["**Findings fixed by the head**:", *[_finding_line(f, diff) for f in diff.fixed_findings], ""]
    footprint_row = _footprint_row(diff)
    if footprint_row:
        lines += [f"**Footprint**: {footprint_row}", ""]
    if diff.base_waves != diff.head_waves:
        lines += [f"**Deployment waves**: {diff.base_waves} \u2192 {diff.head_waves}", ""]
    return lines


def render(diffs: list[StackDiff], base_label: str, head_label: str) -> str:
    """The whole comment: marker, one summary table, then a section per stack."""
    verdict = sum(len(d.new_mandatory) for d in diffs)
    lines = [
        MARKER,
        f"## Offline plan diff: `{base_label}` \u2192 `{head_label}`",
        "",
        (f"\u274c The head adds {verdict} mandatory finding(s)." if verdict
         else "\u2705 No new mandatory finding."),
        "",
        "| stack | added | removed | changed | new findings (mandatory) | fixed | waves | CPU req. | memory req. |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for d in diffs:
        a, b = d.base_footprint, d.head_footprint
        lines.append(
            f"| `{d.stack}` | {len(d.added)} | {len(d.removed)} | {len(d.changed)} | "
            f"{len(d.new_findings)} ({len(d.new_mandatory)}) | {len(d.fixed_findings)} | "
            f"{d.base_waves} \u2192 {d.head_waves} | {a.cpu_requests:.2f} \u2192 {b.cpu_requests:.2f} | "
            f"{_gib(a.memory_requests):.2f} \u2192 {_gib(b.memory_requests):.2f} GiB |"
        )
    lines.append("")
    for d in diffs:
        lines += render_stack(d)
    lines = _within_limit(lines)
    lines.append("<sub>`python -m offline diff` (offline preview under Pulumi's mock runtime; no cluster, "
                 "no credentials). Secrets read `[secret]`.</sub>")
    return "\n".join(lines) + "\n"


def _within_limit(lines: list[str]) -> list[str]:
    """Whole lines up to :data:`MAX_CHARS`, then one line that says the rest is cut."""
    kept: list[str] = []
    used = 0
    for line in lines:
        used += len(line) + 1
        if used > MAX_CHARS:
            return [*kept, "", f"\u2026 cut at {MAX_CHARS:,} characters (GitHub's comment limit): "
                    "`make diff BASE=<ref>` prints the whole diff.", ""]
        kept.append(line)
    return kept
