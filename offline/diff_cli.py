"""``python -m offline diff``: the plan diff a pull request gets, from git refs or from plan directories.

Exit 0 when the head adds no mandatory finding, 1 when it adds one, 2 on bad input (one line on
stderr). The Markdown goes to ``--out`` (else stdout) and, with ``--summary``, is also appended to
``$GITHUB_STEP_SUMMARY``, so the workflow posts exactly what a developer sees locally.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from offline import diff_git
from offline.diff_git import DiffInputError
from offline.runner import ROOT, known_stacks

EXIT_OK, EXIT_NEW_MANDATORY, EXIT_BAD_INPUT = 0, 1, 2


def add_parser(sub: Any) -> None:
    diff = sub.add_parser("diff", help="compare the offline previews of a base git ref and the working tree")
    source = diff.add_mutually_exclusive_group(required=True)
    source.add_argument("--base", metavar="REF", help="git ref of the base (previewed from a temporary worktree)")
    source.add_argument("--base-plan", type=Path, metavar="DIR",
                        help="a preview output directory (plan.json, or <stack>/plan.json) instead of a ref")
    diff.add_argument("--head-plan", type=Path, metavar="DIR",
                      help="with --base-plan: the head's preview output directory (default: preview the working tree)")
    diff.add_argument("--stack", dest="stacks", action="append", choices=known_stacks(),
                      help="stack to compare (repeatable; default: every stack)")
    diff.add_argument("--out", type=Path, help="write the Markdown here instead of stdout")
    diff.add_argument("--summary", action="store_true", help="also append the Markdown to $GITHUB_STEP_SUMMARY")


def plan_from_dir(directory: Path, stack: str) -> dict[str, Any]:
    """``DIR/<stack>/plan.json``, else ``DIR/plan.json`` when it is that stack's plan."""
    for candidate in (directory / stack / "plan.json", directory / "plan.json"):
        if candidate.is_file():
            data: dict[str, Any] = json.loads(candidate.read_text())
            if data.get("stack") == stack:
                return data
    raise DiffInputError(f"{directory} holds no plan.json of stack {stack!r} (write one with "
                         f"`python -m offline preview --stack {stack} --out {directory / stack}`)")


def _pairs_from_dirs(args: argparse.Namespace, stacks: list[str], scratch: Path) -> dict[str, tuple[Any, Any]]:
    pairs = {}
    for stack in stacks:
        base = plan_from_dir(args.base_plan, stack)
        if args.head_plan is not None:
            head = plan_from_dir(args.head_plan, stack)
        else:
            out = scratch / "head" / stack
            head = diff_git.finish_preview(diff_git.start_preview(ROOT, stack, out), out,
                                           f"the working tree's stack {stack}")
        pairs[stack] = (base, head)
    return pairs


def default_stacks(args: argparse.Namespace) -> list[str]:
    """Without ``--stack``: every stack both sides know (a stack new in the head has no base to compare)."""
    stacks = known_stacks()
    if args.base_plan is not None:
        return [s for s in stacks if (args.base_plan / s / "plan.json").is_file()] or stacks
    if args.base is not None:
        def in_base(stack: str) -> bool:
            found = subprocess.run(["git", "cat-file", "-e", f"{args.base}:Pulumi.{stack}.yaml"], cwd=ROOT,
                                   capture_output=True, check=False)
            return found.returncode == 0
        return [s for s in stacks if in_base(s)] or stacks
    return stacks


def run(args: argparse.Namespace) -> int:
    from offline.diff import compare, render  # here: `python -m offline preview` builds this parser too

    stacks = args.stacks or default_stacks(args)
    try:
        if args.head_plan is not None and args.base_plan is None:
            raise DiffInputError("--head-plan needs --base-plan (with --base the head is the working tree)")
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if args.summary and not summary:
            raise DiffInputError("--summary needs GITHUB_STEP_SUMMARY (set by GitHub Actions) to name a file")
        with tempfile.TemporaryDirectory(prefix="plan-diff-") as scratch:
            if args.base is not None:
                pairs = diff_git.preview_pair(ROOT, args.base, stacks, Path(scratch))
                base_label, head_label = diff_git.describe_ref(ROOT, args.base), diff_git.head_label(ROOT)
            else:
                pairs = _pairs_from_dirs(args, stacks, Path(scratch))
                base_label = str(args.base_plan)
                head_label = str(args.head_plan) if args.head_plan else diff_git.head_label(ROOT)
    except DiffInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    diffs = [compare(base, head) for base, head in pairs.values()]
    markdown = render(diffs, base_label, head_label)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(markdown)
    else:
        sys.stdout.write(markdown)
    if args.summary and summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(markdown)
    new_mandatory = sum(len(d.new_mandatory) for d in diffs)
    print(f"plan diff: {len(diffs)} stack(s), {new_mandatory} new mandatory finding(s)", file=sys.stderr)
    return EXIT_NEW_MANDATORY if new_mandatory else EXIT_OK
