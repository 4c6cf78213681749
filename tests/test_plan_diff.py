"""The pull request's plan diff on real offline previews: each kind of change gives its rows."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from offline.__main__ import main
from offline.diff import MARKER, FieldChange, compare, flatten, render
from offline.preview import preview
from offline.runner import ROOT

MEMORY_FLAG_IN_ONE_ARG = '["--gpu-memory-utilization 1.5"]'
"""Passes config validation (which rejects the flag itself in ``vllm.extraArgs``) but not the policy pack."""


def write_preview(out: Path, stack: str, overrides: dict[str, str] | None = None) -> dict[str, Any]:
    """Run the offline preview in-process into ``out`` and read back its ``plan.json``."""
    _, code = preview(stack, overrides, out=out, stream=io.StringIO())
    assert code in (0, 1), f"preview of {stack} {overrides} failed with exit {code}"
    data: dict[str, Any] = json.loads((out / "plan.json").read_text())
    return data


@pytest.fixture(scope="session")
def plan_dirs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<dir>/<stack>/plan.json`` of both stacks as they are (the base of every case)."""
    root = tmp_path_factory.mktemp("base")
    for stack in ("dev", "gpu"):
        write_preview(root / stack, stack)
    return root


def base_plan(plan_dirs: Path, stack: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((plan_dirs / stack / "plan.json").read_text())
    return data


def labels(resources: list[Any]) -> set[str]:
    from offline.diff import label

    return {label(r) for r in resources}


def test_gpu_memory_utilization_change_is_one_changed_field(plan_dirs: Path, tmp_path: Path) -> None:
    head = write_preview(tmp_path, "gpu", {"vllm.gpuMemoryUtilization": "0.85"})
    diff = compare(base_plan(plan_dirs, "gpu"), head)
    assert not diff.added and not diff.removed and not diff.new_findings
    changed = {label_of: fields for label_of, fields in ((r.urn.rsplit("::", 1)[-1], f) for r, f in diff.changed)}
    args = [f for f in changed["vllm-deployment"] if f.path == "spec.template.spec.containers[vllm].args"]
    assert args and args[0].describe().endswith("list items \u2212`0.9` +`0.85`")
    markdown = render([diff], "base", "head")
    assert "| Deployment llm/vllm | vllm | `spec.template.spec.containers[vllm].args`: list items" in markdown
    assert "\u2705 No new mandatory finding." in markdown


def test_langfuse_on_dev_is_an_added_component(plan_dirs: Path, tmp_path: Path) -> None:
    head = write_preview(tmp_path, "dev", {"langfuse.enabled": "true"})
    diff = compare(base_plan(plan_dirs, "dev"), head)
    added = labels(diff.added)
    assert {"Langfuse langfuse", "Helm chart langfuse-chart", "HTTPRoute istio-system/langfuse"} <= added
    assert not diff.removed
    assert diff.head_footprint.cpu_requests > diff.base_footprint.cpu_requests
    markdown = render([diff], "base", "head")
    assert "| added | HTTPRoute istio-system/langfuse | gateway |" in markdown
    assert "**Footprint**: requests CPU 1.13 \u2192" in markdown
    # LiteLLM now reports to Langfuse: its changed env shows the new variable by name, not by index.
    litellm = next(fields for r, fields in diff.changed if r.name == "litellm-deployment")
    assert any(f.path == "spec.template.spec.containers[litellm].env[LANGFUSE_HOST].value" for f in litellm)


def test_litellm_off_removes_its_route(plan_dirs: Path, tmp_path: Path) -> None:
    head = write_preview(tmp_path, "dev", {"litellm.enabled": "false"})
    diff = compare(base_plan(plan_dirs, "dev"), head)
    assert "HTTPRoute istio-system/litellm" in labels(diff.removed)
    assert not diff.added
    markdown = render([diff], "base", "head")
    assert "| removed | HTTPRoute istio-system/litellm | gateway |" in markdown
    # The verification command's secret input changes: it is named, its value is not.
    assert "`environment.LITELLM_MASTER_KEY`: [secret] changed" in markdown


def test_mandatory_finding_is_new_then_fixed(plan_dirs: Path, tmp_path: Path) -> None:
    head = write_preview(tmp_path / "gpu", "gpu", {"vllm.extraArgs": MEMORY_FLAG_IN_ONE_ARG})
    diff = compare(base_plan(plan_dirs, "gpu"), head)
    assert [f.check for f in diff.new_mandatory] == ["policy:vllm-gpu-memory-utilization-range"]
    markdown = render([diff], "base", "head")
    assert "\u274c The head adds 1 mandatory finding(s)." in markdown
    assert "- **mandatory** `policy:vllm-gpu-memory-utilization-range` (vllm):" in markdown
    back = compare(head, base_plan(plan_dirs, "gpu"))
    assert not back.new_findings and [f.check for f in back.fixed_findings] == [diff.new_mandatory[0].check]
    # The command line says the same with its exit code: 1 for the new finding, 0 for the fix.
    assert main(["diff", "--base-plan", str(plan_dirs), "--head-plan", str(tmp_path), "--stack", "gpu"]) == 1
    out = tmp_path / "fixed.md"
    code = main(["diff", "--base-plan", str(tmp_path), "--head-plan", str(plan_dirs), "--stack", "gpu",
                 "--out", str(out)])
    assert code == 0 and "**Findings fixed by the head**:" in out.read_text()


def test_same_plans_have_no_change(plan_dirs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "--base-plan", str(plan_dirs), "--head-plan", str(plan_dirs)]) == 0
    stdout = capsys.readouterr().out
    assert stdout.startswith(MARKER + "\n")
    assert stdout.count("No change to the plan.") == 2


def run_diff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "offline", "diff", *args], cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=300)


def test_unknown_ref_is_one_line_and_exit_2() -> None:
    done = run_diff("--base", "no-such-ref-for-plan-diff")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().count("\n") == 0
    assert "'no-such-ref-for-plan-diff' is not a commit" in done.stderr


def test_plan_dir_without_the_stack_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "--base-plan", str(tmp_path), "--head-plan", str(tmp_path), "--stack", "dev"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.strip().count("\n") == 0
    assert "holds no plan.json of stack 'dev'" in captured.err


def test_base_from_git_worktree_is_removed_afterwards(tmp_path: Path) -> None:
    """``--base HEAD``: the base is previewed from a temporary worktree that is gone afterwards."""
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode != 0:
        pytest.fail("the diff needs a git checkout with a commit; this test runs in one")
    before = worktree_paths()
    done = run_diff("--base", "HEAD", "--stack", "dev", "--out", str(tmp_path / "diff.md"))
    assert done.returncode in (0, 1), done.stderr
    text = (tmp_path / "diff.md").read_text()
    assert text.startswith(MARKER) and "### Stack `dev`" in text and "`HEAD (" in text
    if done.returncode == 0 and not dirty():
        # The same commit on both sides: nothing differs, the interpreter's recorded path included.
        assert "No change to the plan." in text, text
    assert (ROOT / ".venv").is_dir(), "removing the base worktree must not touch the head's virtualenv"
    assert worktree_paths() == before


def worktree_paths() -> set[str]:
    """The repository's worktrees by path (their commits move when others commit in theirs)."""
    listing = ["git", "-C", str(ROOT), "worktree", "list", "--porcelain"]
    lines = subprocess.run(listing, capture_output=True, text=True, check=True).stdout.splitlines()
    return {line.removeprefix("worktree ") for line in lines if line.startswith("worktree ")}


def dirty() -> bool:
    status = ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"]
    return bool(subprocess.run(status, capture_output=True, text=True).stdout.strip())


def test_flatten_addresses_named_items_and_keeps_value_lists_whole() -> None:
    spec = {"containers": [{"name": "a", "args": ["--x", "1"], "env": [{"name": "K", "value": "v"}]}]}
    assert dict(flatten(spec)) == {"containers[a].args": ["--x", "1"], "containers[a].env[K].value": "v"}


def test_secret_values_never_show() -> None:
    assert FieldChange("data.key", "[secret]", "[secret]").describe() == "`data.key`: [secret] changed"
    assert "[secret]" in FieldChange("data.key", "[secret]", "plain").describe()
    assert "plain" not in FieldChange("data.key", "[secret]", "plain").describe()


def test_empty_and_absent_are_the_same_and_lists_show_items() -> None:
    from offline.diff import _ABSENT, changed_fields
    from offline.plan import Resource

    def resource(options: dict[str, Any]) -> Resource:
        return Resource("urn:x", "kubernetes:core/v1:ConfigMap", "x", None, True, False, [], {}, options)

    assert changed_fields(resource({}), resource({"transforms": []})) == []
    [change] = changed_fields(resource({}), resource({"transforms": ["t"]}))
    assert change.before is _ABSENT and change.describe() == "`options.transforms`: list items +`t`"


def test_multi_line_text_change_counts_lines() -> None:
    change = FieldChange("data.config", "a: 1\nb: 2\n", "a: 1\nb: 3\nc: 4\n")
    assert change.describe() == "`data.config`: text, +2/-1 lines; first removed `b: 2`; first added `b: 3`"


def test_huge_diff_stays_within_a_github_comment() -> None:
    def plan(value: str) -> dict[str, Any]:
        resources: list[dict[str, Any]] = [
            {"urn": f"urn:pulumi:dev::p::kubernetes:core/v1:ConfigMap::cm{i}", "type": "kubernetes:core/v1:ConfigMap",
             "name": f"cm{i}", "parent": None, "dependencies": [], "options": {},
             "inputs": {"kind": "ConfigMap", "metadata": {"name": f"cm{i}"},
                        "data": {f"key{k}": value * 80 for k in range(10)}}}
            for i in range(400)
        ]
        return {"stack": "dev", "resources": resources, "waves": [], "findings": []}

    diffs = [compare(plan("a"), plan("b")) for _ in range(2)]
    markdown = render(diffs, "base", "head")
    assert len(markdown) < 65_536
    assert "40 more changed resources" not in markdown  # 400 changed: the table is capped at 40 rows ...
    assert "360 more changed resources" in markdown
    assert "cut at 60,000 characters" in markdown  # ... and two such stacks still exceed a comment
    assert markdown.startswith(MARKER) and markdown.rstrip().endswith("</sub>")


def test_footprint_read_back_from_plan_json_is_the_previews(any_plan: Any) -> None:
    """plan.json does not say which resources are custom; the diff's reading must not change the totals."""
    from offline.diff import load_plan
    from offline.footprint import footprint
    from offline.preview import top_component

    direct = footprint(any_plan, top_component).total
    read_back = footprint(load_plan(json.loads(any_plan.dumps())), top_component).total
    assert read_back == direct and direct.containers > 0
