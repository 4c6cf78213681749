"""The impure half of ``python -m offline diff``: a base checkout from git and the two previews.

The base is previewed by its own code (``python -m offline preview`` run inside a temporary
``git worktree`` of the ref), so a pull request that changes the preview itself is still compared
against what the base really planned. The worktree is removed afterwards, also on failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tools.paths import shared_dir

EXIT_PREVIEW_FAILED = 2
"""What ``offline preview`` exits with when it produced no plan (invalid configuration)."""


class DiffInputError(Exception):
    """Bad input to the diff: an unknown ref, a base that does not preview. One line, for the user."""


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)


def resolve(root: Path, ref: str) -> str:
    """The commit ``ref`` names, or :class:`DiffInputError` naming the ref."""
    if ref.startswith("-"):
        raise DiffInputError(f"--base {ref!r} is not a git ref")
    done = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if done.returncode != 0 or not done.stdout.strip():
        raise DiffInputError(f"--base {ref!r} is not a commit in {root.name} (fetch it first, e.g. git fetch origin)")
    return done.stdout.strip()


@contextmanager
def worktree(root: Path, commit: str) -> Iterator[Path]:
    """A detached worktree of ``commit`` in a temporary directory, removed on the way out."""
    with tempfile.TemporaryDirectory(prefix="plan-diff-base-") as scratch:
        path = Path(scratch) / "base"
        done = _git(root, "worktree", "add", "--detach", "--quiet", str(path), commit)
        if done.returncode != 0:
            raise DiffInputError(f"cannot check out {commit[:12]}: {_last_line(done.stderr)}")
        try:
            yield path
        finally:
            for entry in path.iterdir():
                if entry.is_symlink():  # the link to the head's virtualenv: never delete through it
                    entry.unlink()
            _git(root, "worktree", "remove", "--force", str(path))
            _git(root, "worktree", "prune")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def interpreter(root: Path, checkout: Path) -> str:
    """This Python as ``checkout`` would call it.

    The program records its interpreter relative to the checkout when it lives inside it
    (``.venv/bin/python``, the verification command). The base worktree has no ``.venv`` of its own:
    it gets a link to the head's, so both sides record the same path and only real changes show.
    """
    executable = Path(sys.executable)
    if checkout == root or not executable.is_relative_to(root):
        return str(executable)
    relative = executable.relative_to(root)
    link = checkout / relative.parts[0]
    if not link.exists():
        link.symlink_to(root / relative.parts[0], target_is_directory=True)
    return str(checkout / relative)


def start_preview(checkout: Path, stack: str, out: Path, python: str = sys.executable) -> subprocess.Popen[str]:
    """``python -m offline preview`` of ``checkout``'s own code, writing ``out/plan.json``."""
    command = [python, "-m", "offline", "preview", "--stack", stack, "--out", str(out)]
    # The base worktree lives in a temporary directory with no ``shared`` beside it: both sides read
    # the head's (chart mirror, Gateway API CRD bundle), so only the program's own changes show.
    env = {**os.environ, "LLM_TRACING_SHARED": str(shared_dir().resolve())}
    return subprocess.Popen(command, cwd=checkout, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish_preview(process: subprocess.Popen[str], out: Path, what: str) -> dict[str, Any]:
    """The plan a preview wrote; exit 1 (mandatory findings) still has one, anything else is bad input."""
    output, _ = process.communicate()
    plan = out / "plan.json"
    if process.returncode not in (0, 1) or not plan.is_file():
        raise DiffInputError(f"{what} does not preview (exit {process.returncode}): {_last_line(output)}")
    data: dict[str, Any] = json.loads(plan.read_text())
    return data


Pair = tuple[dict[str, Any], dict[str, Any]]
"""(base plan.json, head plan.json) of one stack."""


def preview_pair(root: Path, ref: str, stacks: list[str], scratch: Path) -> dict[str, Pair]:
    """``{stack: (base plan, head plan)}``: base from ``ref``'s worktree, head from ``root`` as it is."""
    commit = resolve(root, ref)
    with worktree(root, commit) as base_checkout:
        runs = []
        for stack in stacks:
            for side, checkout in (("base", base_checkout), ("head", root)):
                out = scratch / side / stack
                what = f"the base ({ref}) stack {stack}" if side == "base" else f"the working tree's stack {stack}"
                python = interpreter(root, checkout)
                runs.append((stack, side, out, what, start_preview(checkout, stack, out, python)))
        plans: dict[str, dict[str, dict[str, Any]]] = {}
        for stack, side, out, what, process in runs:
            plans.setdefault(stack, {})[side] = finish_preview(process, out, what)
    return {stack: (sides["base"], sides["head"]) for stack, sides in plans.items()}


def describe_ref(root: Path, ref: str) -> str:
    """``HEAD~1 (abc1234)`` for the comment's title."""
    done = _git(root, "rev-parse", "--short", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    sha = done.stdout.strip()
    return f"{ref} ({sha})" if sha and not ref.startswith(sha) else (sha or ref)


def head_label(root: Path) -> str:
    """The working tree: its commit, with ``+ local changes`` when it is dirty."""
    sha = _git(root, "rev-parse", "--short", "HEAD").stdout.strip() or "working tree"
    dirty = _git(root, "status", "--porcelain", "--untracked-files=no").stdout.strip()
    return f"{sha} + local changes" if dirty else sha
