"""README's "Alerts" table is the gpu stack's rules: every alert, its ``for`` and its severity, no more."""

from __future__ import annotations

import re
from pathlib import Path

import config
from tests.support import rule_groups

README = Path(__file__).resolve().parent.parent / "README.md"
GPU_STACK = {"engine": "vllm", "gpu": {"enabled": True}}


def readme_rows() -> list[tuple[str, str, str]]:
    section = README.read_text().split("### Alerts\n", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]  # after header and rule
    parsed = []
    for row in rows:
        found = re.fullmatch(r"\| `(\w+)` \| (\w+) \| (critical|warning|info) \|", row.strip())
        assert found, f"row must read | `Alert` | for | severity |: {row}"
        parsed.append((found[1], found[2], found[3]))
    return parsed


def test_readme_alert_table_is_the_rules() -> None:
    cfg = config.StackConfig.model_validate(GPU_STACK)
    rules = [
        (rule["alert"], rule.get("for", "0m"), rule["labels"]["severity"])
        for group in rule_groups(cfg)
        for rule in group["rules"]
        if "alert" in rule
    ]
    assert readme_rows() == rules
