"""The offline preview fails closed when its policy pack is missing or does not load."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from offline import policy_bridge
from tests.support import stack_plan


@pytest.fixture
def fresh_import(monkeypatch: pytest.MonkeyPatch) -> None:
    """Import the pack anew (and restore the real one afterwards)."""
    for name in [n for n in sys.modules if n == "broken_pack" or n.startswith("broken_pack.")]:
        monkeypatch.delitem(sys.modules, name)


def test_missing_pack_is_a_mandatory_finding(monkeypatch: pytest.MonkeyPatch, fresh_import: None) -> None:
    monkeypatch.setattr(policy_bridge, "PACK_MODULE", "llm_policies.no_such_module")
    findings = policy_bridge.evaluate(stack_plan("dev"))
    assert [(f.check, f.level) for f in findings] == [("policy-pack", "mandatory")]
    assert "not found" in findings[0].message


def test_pack_that_raises_on_load_is_a_mandatory_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_import: None
) -> None:
    package = tmp_path / "broken_pack"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "offline.py").write_text("raise RuntimeError('pulumi_policy is too old')\n")
    (tmp_path / "other.py").write_text("import not_installed_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(policy_bridge, "PACK_MODULE", "broken_pack.offline")
    findings = policy_bridge.evaluate(stack_plan("dev"))
    assert [(f.check, f.level) for f in findings] == [("policy-pack", "mandatory")]
    assert "RuntimeError: pulumi_policy is too old" in findings[0].message

    monkeypatch.setattr(policy_bridge, "PACK_MODULE", "other")  # a dependency of the pack is missing
    findings = policy_bridge.evaluate(stack_plan("dev"))
    assert findings[0].level == "mandatory" and "not_installed_anywhere" in findings[0].message


def test_the_real_pack_loads() -> None:
    findings = policy_bridge.evaluate(stack_plan("dev"))
    assert not any(f.check == "policy-pack" for f in findings), findings
    assert policy_bridge.PACK_MODULE in sys.modules
