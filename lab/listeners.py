"""Loopback only: what the lab's processes listen on, sampled while `pulumi up` runs.

The simulated cluster and the Pulumi CLI (engine, language host, providers) all open TCP
listeners. Each sample reads ``ss -ltnpH``; a listener of one of these processes on anything but
127.0.0.1 or ::1 fails the lab's ``loopback-only`` check.
"""

from __future__ import annotations

import re
import subprocess
import threading
from typing import Any

LAB_PROCESSES = (
    "etcd", "kube-apiserver", "kube-controller", "kube-scheduler", "kwok",
    "pulumi", "pulumi-language", "pulumi-resource", "pulumi-analyzer",
)  # fmt: skip
_LINE = re.compile(r'^LISTEN\s+\S+\s+\S+\s+(?P<local>\S+)\s+\S+\s+users:\(\("(?P<process>[^"]+)"')


def exposed(ss_output: str) -> list[str]:
    """``process@address:port`` for each lab-process listener that is not on loopback."""
    found = []
    for line in ss_output.splitlines():
        match = _LINE.match(line.strip())
        if not match or not match["process"].startswith(LAB_PROCESSES):
            continue
        address = match["local"].rsplit(":", 1)[0].strip("[]")
        if address not in ("127.0.0.1", "::1") and not address.startswith("127."):
            found.append(f"{match['process']}@{match['local']}")
    return found


class ListenerWatch:
    """Samples listeners every ``interval`` seconds until stopped."""

    def __init__(self, interval: float = 5.0) -> None:
        self.interval = interval
        self.samples = 0
        self.exposed: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ListenerWatch:
        """Re-entrant: each `with` samples until its end (the lab watches every `up`)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="listener-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    def sample(self) -> None:
        done = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            self.samples += 1
            self.exposed.update(exposed(done.stdout))

    def _loop(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.interval):
                return

    def check(self) -> dict[str, Any]:
        ok = self.samples > 0 and not self.exposed
        if not self.samples:
            message = "`ss` could not be run: listeners unchecked"
        else:
            message = f"{self.samples} samples; " + (
                f"not on loopback: {sorted(self.exposed)}" if self.exposed else "all on loopback"
            )
        return {"name": "loopback-only", "ok": ok, "message": message}
