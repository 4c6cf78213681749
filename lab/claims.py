"""Ephemeral claims whose release the simulated kubelet never triggers.

A pod's generic ephemeral volume (the autoscaled engine's model cache) is a claim the pod owns. When
the pod is deleted, Kubernetes' ``pvc-protection`` controller keeps the claim until the pod is shut
down, and looks again when the pod changes. A real kubelet reports the containers stopping, which
is such a change; kwok only deletes the pod with a zero grace period, and if the controller checked
the claim a moment before that, nothing makes it look again: the claim keeps its finalizer, the pod
waits for the claim (foreground deletion) and ``pulumi destroy`` waits for the pod.

The lab does not release anything itself: while ``destroy`` runs it annotates each claim that has
been deleting for ``after`` seconds and still carries ``kubernetes.io/pvc-protection``. An update is
what makes the real controller re-check; it releases the claim only if no running pod uses it. Every
claim nudged is named in the lab report.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from lab.sweeper import Sweeper
from lab.webhooks import Kubectl

PROTECTION = "kubernetes.io/pvc-protection"
ANNOTATION = "lab.llm-tracing-infra/recheck"


def stuck(claims: dict[str, Any], now: datetime, after: float) -> list[tuple[str, str]]:
    """(namespace, name) of claims deleting for ``after`` seconds or more that still carry the protection."""
    found = []
    for claim in claims.get("items") or []:
        meta = claim.get("metadata") or {}
        since = meta.get("deletionTimestamp")
        if not since or PROTECTION not in (meta.get("finalizers") or []):
            continue
        if (now - datetime.fromisoformat(since.replace("Z", "+00:00"))).total_seconds() >= after:
            found.append((meta["namespace"], meta["name"]))
    return found


class ClaimNudger(Sweeper):
    """A background thread that asks the pvc-protection controller to re-check stuck claims until stopped."""

    name = "claim-nudger"
    join_timeout = 30.0

    def __init__(self, kubectl: Kubectl, interval: float = 10.0, after: float = 30.0) -> None:
        super().__init__(interval)
        self.kubectl, self.after = kubectl, after
        self.nudged: list[str] = []

    def sweep(self, now: datetime | None = None) -> None:
        done = self.kubectl("get", "pvc", "-A", "-o", "json")
        if done.returncode != 0:
            return
        for namespace, name in stuck(json.loads(done.stdout), now or datetime.now(UTC), self.after):
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            annotated = self.kubectl("annotate", "pvc", "-n", namespace, name, f"{ANNOTATION}={stamp}", "--overwrite")
            if annotated.returncode == 0 and f"{namespace}/{name}" not in self.nudged:
                self.nudged.append(f"{namespace}/{name}")
