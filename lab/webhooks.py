"""Admission webhooks in a cluster whose pods never run.

In the simulated cluster no container runs, so no admission webhook served by a pod can answer
(the API server gets "connection refused" at the Service's loopback ClusterIP). Webhooks that
fail closed (``failurePolicy: Fail``: Istio's sidecar injector, cert-manager's webhook) would then
reject every object they watch, and `pulumi up` would wait for pods that can never be created.

The lab does not change the program for this: while `pulumi up` runs it watches the cluster and
sets ``failurePolicy: Ignore`` on each such webhook as soon as it appears, which is what the API
server would see from a cluster whose webhooks answered "allowed". Live-only edits are invisible
to `pulumi preview` (it compares the program with the state, not with the cluster), so the
"re-run changes nothing" check stays honest. Every relaxed webhook is named in the lab report.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

from lab.sweeper import Sweeper

KINDS = ("mutatingwebhookconfigurations", "validatingwebhookconfigurations")


def fail_closed(configs: dict[str, Any]) -> list[tuple[str, str, list[int]]]:
    """(kind, name, indexes of webhooks with failurePolicy Fail or unset) for each configuration."""
    found = []
    for item in configs.get("items") or []:
        kind = str(item.get("kind", "")).lower() + "s"
        bad = [i for i, hook in enumerate(item.get("webhooks") or []) if hook.get("failurePolicy", "Fail") == "Fail"]
        if bad:
            found.append((kind, item["metadata"]["name"], bad))
    return found


def ignore_patch(indexes: list[int]) -> str:
    return json.dumps([{"op": "replace", "path": f"/webhooks/{i}/failurePolicy", "value": "Ignore"} for i in indexes])


Kubectl = Callable[..., "subprocess.CompletedProcess[str]"]


class WebhookRelaxer(Sweeper):
    """A background thread that relaxes fail-closed webhooks until stopped."""

    name = "webhook-relaxer"

    def __init__(self, kubectl: Kubectl, interval: float = 0.5) -> None:
        super().__init__(interval)
        self.kubectl = kubectl
        self.relaxed: list[str] = []

    def sweep(self) -> None:
        done = self.kubectl("get", ",".join(KINDS), "-o", "json")
        if done.returncode != 0:
            return
        for kind, name, indexes in fail_closed(json.loads(done.stdout)):
            patched = self.kubectl("patch", kind, name, "--type=json", "-p", ignore_patch(indexes))
            if patched.returncode == 0:
                label = f"{kind.removesuffix('webhookconfigurations')}/{name}"
                if label not in self.relaxed:
                    self.relaxed.append(label)
