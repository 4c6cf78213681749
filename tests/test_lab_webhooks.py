"""The lab's webhook relaxer and listener watch, on fake kubectl and ss output (the lab runs them for real)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from lab.listeners import exposed, listening_sockets
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


TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:192B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 101 1 0
   1: 00000000:0947 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 102 1 0
   2: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 103 1 0
   3: 0100007F:9C40 0100007F:192B 01 00000000:00000000 00:00000000 00000000     0        0 104 1 0
"""
TCP6 = """\
  sl  local_address                         remote_address                        st ...
   0: 00000000000000000000000001000000:9E47 00000000000000000000000000000000:0000 0A 0:0 0:0 0 0 0 201 1 0
   1: 00000000000000000000000000000000:A097 00000000000000000000000000000000:0000 0A 0:0 0:0 0 0 0 202 1 0
"""


def test_listening_sockets_are_read_from_the_kernel_tables() -> None:
    assert listening_sockets({"tcp": TCP, "tcp6": TCP6}) == {
        "101": "127.0.0.1:6443", "102": "0.0.0.0:2375", "103": "0.0.0.0:2024",
        "201": "[::1]:40519", "202": "[::]:41111",
    }  # fmt: skip


def test_listeners_off_loopback_are_named_for_lab_processes_only() -> None:
    sockets = listening_sockets({"tcp": TCP, "tcp6": TCP6})
    owners = {"101": "kube-apiserver", "102": "etcd", "103": "sshd", "201": "pulumi-language", "202": "pulumi-resource"}
    assert exposed(sockets, owners) == ["etcd@0.0.0.0:2375", "pulumi-resource@[::]:41111"]
    assert exposed({"101": "127.0.0.1:6443", "102": "[::ffff:7f00:1]:80"}, owners) == []
