"""``python -m offline.gha notice|error TITLE MESSAGE`` and ``output NAME FILE``: workflow plumbing.

A job that cannot do its work (no Pulumi backend secret, a fork's read-only token, no lab toolchain
source) must not pass silently: it prints a workflow command GitHub shows as an annotation and adds
a line to the job summary. ``error`` also exits 1. Outside Actions both still print, so the same
command can be run (and is tested) anywhere. ``output`` hands a file to a later job as a job output
(the plan diff's Markdown, posted by a job that runs no code of the pull request).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path
from typing import TextIO


def _escape(text: str) -> str:
    """Workflow-command escaping: a message must stay one command line."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape(text).replace(":", "%3A").replace(",", "%2C")


def annotate(level: str, title: str, message: str, stream: TextIO | None = None) -> None:
    """``::notice title=T::M`` (or ``::error``) on stdout and one Markdown line in the job summary."""
    stream = stream or sys.stdout
    print(f"::{level} title={_escape_property(title)}::{_escape(message)}", file=stream)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        icon = "\u26a0\ufe0f" if level == "notice" else "\u274c"
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(f"{icon} **{title}**: {message}\n\n")


def set_output(name: str, text: str) -> None:
    """Append ``name`` to ``$GITHUB_OUTPUT`` with a delimiter the text cannot contain."""
    target = os.environ.get("GITHUB_OUTPUT")
    if not target:
        raise SystemExit("error: GITHUB_OUTPUT is not set (only GitHub Actions sets it)")
    delimiter = f"EOF_{secrets.token_hex(16)}"
    with open(target, "a", encoding="utf-8") as handle:
        handle.write(f"{name}<<{delimiter}\n{text.rstrip(chr(10))}\n{delimiter}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.gha", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for level in ("notice", "error"):
        annotation = sub.add_parser(level)
        annotation.add_argument("title")
        annotation.add_argument("message")
    output = sub.add_parser("output")
    output.add_argument("name")
    output.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    if args.command == "output":
        set_output(args.name, args.file.read_text(encoding="utf-8"))
        return 0
    annotate(args.command, args.title, args.message)
    return 1 if args.command == "error" else 0


if __name__ == "__main__":
    sys.exit(main())
