"""Text the program's inputs already show in clear: what a secret-marked value may show in the plan.

pulumi-kubernetes marks every Secret's ``data``/``stringData`` secret (pulumi-command a remote
``connection``), so on the wire a password typed into the program looks exactly like one from
``config.require_secret`` or derived from a seed. The runner hides every secret-marked value as
``[secret]``, except one made only of quoted string literals of the program's own source or of
plain (non-secret) config values: that text is in the repository already, so showing it leaks
nothing, and it lets ``k8s-secret-no-literal-data`` flag a literal.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

SKIPPED_DIRS = frozenset({"offline", "tests", "out", "node_modules", "__pycache__"})
"""Not the program: the preview's own placeholders live in ``offline/`` and must never count as literals."""


def program_files(roots: Iterable[Path]) -> list[Path]:
    """Python files under ``roots``, without hidden directories (``.venv``) and ``SKIPPED_DIRS``.

    The walk never enters those directories: a checkout's ``.venv`` holds thousands of files, and
    listing them only to drop them took a quarter of a second of every preview.
    """
    files: set[Path] = set()
    for root in dict.fromkeys(roots):
        for folder, subfolders, names in os.walk(root):
            subfolders[:] = [d for d in subfolders if not d.startswith(".") and d not in SKIPPED_DIRS]
            files.update(Path(folder) / name for name in names if name.endswith(".py"))
    return sorted(files)


class SourceLiterals:
    """Answers "is this string written, quoted, in the program's source, or a plain config value?".

    Reads the files on first use.
    """

    def __init__(self, roots: Iterable[Path], plain_config: Iterable[str] = ()) -> None:
        self.roots = list(roots)
        self.plain_config = frozenset(plain_config)

    @cached_property
    def text(self) -> str:
        return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in program_files(self.roots))

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, str) or not value:
            return False
        if value in self.plain_config:
            return True
        return f'"{value}"' in self.text or f"'{value}'" in self.text


def plain_config_strings(config_map: dict[str, str], secret_keys: Iterable[str]) -> list[str]:
    """Every string in the stack's non-secret config values (objects arrive JSON-encoded)."""
    secret = set(secret_keys)
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)
        elif isinstance(node, str):
            found.append(node)

    for key, value in config_map.items():
        if key in secret:
            continue
        found.append(value)
        if value[:1] in ("{", "["):
            with contextlib.suppress(json.JSONDecodeError):
                walk(json.loads(value))
    return found
