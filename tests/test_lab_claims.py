"""The lab's claim nudger: only claims stuck deleting under pvc-protection, only after a while."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from typing import Any

from lab import claims

NOW = datetime(2026, 12, 3, 8, 10, tzinfo=UTC)


def claim(name: str, since: str | None, finalizers: list[str]) -> dict[str, Any]:
    meta: dict[str, Any] = {"namespace": "llm", "name": name, "finalizers": finalizers}
    if since:
        meta["deletionTimestamp"] = since
    return {"metadata": meta}


CLAIMS = {"items": [
    claim("stuck", "2026-12-03T08:03:46Z", [claims.PROTECTION]),
    claim("just-deleted", "2026-12-03T08:09:50Z", [claims.PROTECTION]),
    claim("kept", None, [claims.PROTECTION]),
    claim("other-finalizer", "2026-12-03T08:03:46Z", ["example.com/hold"]),
]}  # fmt: skip


def test_only_claims_deleting_for_a_while_under_protection_are_stuck() -> None:
    assert claims.stuck(CLAIMS, NOW, after=30) == [("llm", "stuck")]


def test_a_sweep_annotates_the_stuck_claim_and_names_it_once() -> None:
    calls: list[tuple[str, ...]] = []

    def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        return subprocess.CompletedProcess(args, 0, json.dumps(CLAIMS) if args[0] == "get" else "", "")

    nudger = claims.ClaimNudger(kubectl)
    nudger.sweep(NOW)
    nudger.sweep(NOW)
    annotations = [c for c in calls if c[0] == "annotate"]
    assert len(annotations) == 2 and annotations[0][:5] == ("annotate", "pvc", "-n", "llm", "stuck")
    assert nudger.nudged == ["llm/stuck"]


def test_an_unreadable_cluster_nudges_nothing() -> None:
    nudger = claims.ClaimNudger(lambda *a: subprocess.CompletedProcess(a, 1, "", "refused"))
    nudger.sweep(NOW)
    assert nudger.nudged == []
