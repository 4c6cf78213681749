"""The lab's webhook relaxer and listener watch, on fake kubectl and ss output (the lab runs them for real)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from lab.listeners import exposed
from lab.webhooks import WebhookRelaxer, fail_closed, ignore_patch

CONFIGS = {
    "items": [
        {
            "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": "istio-sidecar-injector"},
            "webhooks": [{"name": "a", "failurePolicy": "Fail"}, {"name": "b", "failurePolicy": "Ignore"}],
        },
        {"kind": "ValidatingWebhookConfiguration", "metadata": {"name": "open"}, "webhooks": [{"name": "c"}]},
        {
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "relaxed"},
            "webhooks": [{"name": "d", "failurePolicy": "Ignore"}],
        },
    ]
}


def test_finds_fail_closed_webhooks_including_the_default() -> None:
    assert fail_closed(CONFIGS) == [
        ("mutatingwebhookconfigurations", "istio-sidecar-injector", [0]),
        ("validatingwebhookconfigurations", "open", [0]),  # failurePolicy defaults to Fail
    ]


def test_patch_sets_ignore_on_exactly_those_webhooks() -> None:
    assert json.loads(ignore_patch([0, 2])) == [
        {"op": "replace", "path": "/webhooks/0/failurePolicy", "value": "Ignore"},
        {"op": "replace", "path": "/webhooks/2/failurePolicy", "value": "Ignore"},
    ]


def test_sweep_patches_and_records_each_once() -> None:
    calls: list[tuple[str, ...]] = []

    def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        out: Any = json.dumps(CONFIGS) if args[0] == "get" else ""
        return subprocess.CompletedProcess(args, 0, out, "")

    relaxer = WebhookRelaxer(kubectl)
    relaxer.sweep()
    relaxer.sweep()
    patches = [c for c in calls if c[0] == "patch"]
    assert [c[1:3] for c in patches[:2]] == [
        ("mutatingwebhookconfigurations", "istio-sidecar-injector"),
        ("validatingwebhookconfigurations", "open"),
    ]
    assert relaxer.relaxed == ["mutating/istio-sidecar-injector", "validating/open"]


SS = """\
LISTEN 0      4096            127.0.0.1:6443       0.0.0.0:*    users:(("kube-apiserver",pid=18004,fd=5))
LISTEN 0      4096            0.0.0.0:2379         0.0.0.0:*    users:(("etcd",pid=17993,fd=8))
LISTEN 0      4096            [::1]:40519          [::]:*       users:(("pulumi-language",pid=18280,fd=5))
LISTEN 0      4096            [::]:41111           [::]:*       users:(("pulumi-resource",pid=18281,fd=5))
LISTEN 0      128             0.0.0.0:2024         0.0.0.0:*    users:(("sshd",pid=1,fd=3))
LISTEN 0      128             0.0.0.0:2025         0.0.0.0:*
"""


def test_listeners_off_loopback_are_named_for_lab_processes_only() -> None:
    assert exposed(SS) == ["etcd@0.0.0.0:2379", "pulumi-resource@[::]:41111"]
    assert exposed(SS.splitlines()[0]) == []
