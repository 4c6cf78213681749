"""Loopback only: what the lab's processes listen on, sampled while `pulumi up` runs.

The simulated cluster and the Pulumi CLI (engine, language host, providers) all open TCP
listeners. Each sample reads the kernel's socket tables (``/proc/net/tcp``, ``tcp6``) and maps
listening sockets to processes through ``/proc/<pid>/fd``, so no tool needs installing. A
listener of one of the lab's processes on anything but loopback fails the ``loopback-only`` check.
"""

from __future__ import annotations

import ipaddress
import os
import threading
from pathlib import Path
from typing import Any

LAB_PROCESSES = (
    "etcd", "kube-apiserver", "kube-controller", "kube-scheduler", "kwok",
    "pulumi", "pulumi-language", "pulumi-resource", "pulumi-analyzer",
)  # fmt: skip
LISTEN = "0A"


def _address(hex_address: str) -> str:
    """``0100007F:192B`` -> ``127.0.0.1:6443`` (IPv4 and IPv6 as /proc/net/tcp* print them)."""
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    # the kernel prints each 32-bit word in host (little-endian) order
    packed = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    ip = ipaddress.ip_address(packed)
    return f"[{ip}]:{int(port, 16)}" if ip.version == 6 else f"{ip}:{int(port, 16)}"


def listening_sockets(tables: dict[str, str]) -> dict[str, str]:
    """inode -> ``address:port`` of every LISTEN socket in the given ``/proc/net/tcp*`` texts."""
    found = {}
    for text in tables.values():
        for line in text.splitlines()[1:]:
            fields = line.split()
            if len(fields) > 9 and fields[3] == LISTEN:
                found[fields[9]] = _address(fields[1])
    return found


def exposed(listeners: dict[str, str], owners: dict[str, str]) -> list[str]:
    """``process@address`` for each lab-process listener (inode -> owner name) not on loopback."""
    out = []
    for inode, address in listeners.items():
        process = owners.get(inode, "")
        ip = ipaddress.ip_address(address.rsplit(":", 1)[0].strip("[]"))
        mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is loopback too
        if process.startswith(LAB_PROCESSES) and not (mapped or ip).is_loopback:
            out.append(f"{process}@{address}")
    return sorted(out)


def _socket_owners() -> dict[str, str]:
    owners = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    owners[target[8:-1]] = name
        except OSError:  # the process exited, or is not ours to read
            continue
    return owners


class ListenerWatch:
    """Samples listeners every ``interval`` seconds while inside ``with`` (re-entrant)."""

    def __init__(self, interval: float = 5.0) -> None:
        self.interval = interval
        self.samples = 0
        self.exposed: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ListenerWatch:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="listener-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)

    def sample(self) -> None:
        tables = {}
        for name in ("tcp", "tcp6"):
            try:
                tables[name] = Path(f"/proc/net/{name}").read_text()
            except OSError:
                continue
        if tables:
            self.samples += 1
            self.exposed.update(exposed(listening_sockets(tables), _socket_owners()))

    def _loop(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.interval):
                return

    def check(self) -> dict[str, Any]:
        if not self.samples:
            return {"name": "loopback-only", "ok": False, "message": "/proc/net/tcp unreadable: listeners unchecked"}
        found = f"not on loopback: {sorted(self.exposed)}" if self.exposed else "all on loopback"
        return {"name": "loopback-only", "ok": not self.exposed, "message": f"{self.samples} samples; {found}"}
