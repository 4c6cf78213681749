"""The mutation check itself: its table is applicable, and a run judges caught/survived and restores the file."""

from __future__ import annotations

import sys
from pathlib import Path

from tools import mutation_check as mc

CATEGORIES = {"config bounds", "policy", "secret marking", "retention", "security context", "lab checks"}


def test_table_covers_every_category_with_at_least_15_applicable_mutations() -> None:
    assert len(mc.MUTATIONS) >= 15
    assert {m.category for m in mc.MUTATIONS} >= CATEGORIES
    assert len({m.name for m in mc.MUTATIONS}) == len(mc.MUTATIONS), "names are unique"
    for m in mc.MUTATIONS:
        assert m.original != m.mutated and m.tests, m.name
        assert mc.stale(mc.ROOT, m) is None, f"{m.name}: {mc.stale(mc.ROOT, m)} (re-target it)"
        for target in m.tests:
            assert (mc.ROOT / target.split("::")[0]).is_file(), f"{m.name}: {target}"


def test_every_mandatory_policy_has_a_mutation() -> None:
    sys.path.insert(0, str(mc.ROOT / "policies"))
    from llm_policies import POLICIES  # type: ignore[import-not-found]

    mandatory = {
        p.name for p in POLICIES if p.enforcement_level is not None and p.enforcement_level.value == "mandatory"
    }
    files = {m.file for m in mc.MUTATIONS if m.category == "policy"}
    for name in mandatory:
        module = next(
            f for f in (mc.ROOT / "policies" / "llm_policies").glob("*.py") if f'name="{name}"' in f.read_text()
        )
        assert f"policies/llm_policies/{module.name}" in files, f"no mutation for mandatory policy {name}"


def fake_repo(tmp_path: Path) -> Path:
    (tmp_path / "guard.py").write_text("def allowed(n):\n    return 0 < n < 10\n\n\ndef unused():\n    return 1\n")
    (tmp_path / "test_guard.py").write_text(
        "from guard import allowed\n\n\ndef test_bounds():\n    assert allowed(5) and not allowed(10)\n"
    )
    return tmp_path


def test_a_run_reports_caught_and_survived_and_restores_the_file(tmp_path: Path) -> None:
    repo = fake_repo(tmp_path)
    source = (repo / "guard.py").read_text()
    caught = mc.Mutation("upper-bound", "config bounds", "guard.py", "n < 10", "n <= 10", ("test_guard.py",))
    survived = mc.Mutation("dead-code", "config bounds", "guard.py", "return 1", "return 2", ("test_guard.py",))
    assert mc.run_one(repo, caught, timeout=60).verdict == "caught"
    assert mc.run_one(repo, survived, timeout=60).verdict == "SURVIVED"
    assert (repo / "guard.py").read_text() == source
    assert mc.baseline(repo, (caught, survived), timeout=60).verdict == "baseline ok"


def test_a_snippet_that_moved_is_stale(tmp_path: Path) -> None:
    repo = fake_repo(tmp_path)
    moved = mc.Mutation("moved", "config bounds", "guard.py", "n < 100", "n <= 100", ("test_guard.py",))
    twice = mc.Mutation("twice", "config bounds", "guard.py", "return", "yield", ("test_guard.py",))
    gone = mc.Mutation("gone", "config bounds", "nowhere.py", "x", "y", ("test_guard.py",))
    assert "found 0 times" in str(mc.stale(repo, moved))
    assert "found 2 times" in str(mc.stale(repo, twice))
    assert "does not exist" in str(mc.stale(repo, gone))


def test_mutations_sharing_a_test_file_stay_on_one_worker() -> None:
    queues = mc.split(list(mc.MUTATIONS), 2)
    assert sorted(m.name for q in queues for m in q) == sorted(m.name for m in mc.MUTATIONS)
    files = [{m.tests[0].split("::")[0] for m in q} for q in queues]
    assert not files[0] & files[1], "each worker runs its test files unmutated once"
    assert abs(len(queues[0]) - len(queues[1])) <= 6
