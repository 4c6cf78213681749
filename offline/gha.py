"""``python -m offline.gha notice|error TITLE MESSAGE``: what a workflow says when it skips or fails.

A job that cannot do its work (no Pulumi backend secret, a fork's read-only token, no lab toolchain
source) must not pass silently: it prints a workflow command GitHub shows as an annotation and adds
a line to the job summary. ``error`` also exits 1. Outside Actions both still print, so the same
command can be run (and is tested) anywhere.
"""

from __future__ import annotations

import argparse
import os
import sys
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.gha", description=__doc__)
    parser.add_argument("level", choices=["notice", "error"])
    parser.add_argument("title")
    parser.add_argument("message")
    args = parser.parse_args(argv)
    annotate(args.level, args.title, args.message)
    return 1 if args.level == "error" else 0


if __name__ == "__main__":
    sys.exit(main())
