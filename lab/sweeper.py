"""A background sweep for the lab's stand-ins for what a simulated cluster lacks.

``WebhookRelaxer`` (webhooks no pod answers) and ``ClaimNudger`` (claims no kubelet update
releases) each look at the cluster every few seconds while one Pulumi phase runs: ``with`` starts
the thread, leaving the block stops it. A subclass says what one look does (``sweep``).
"""

from __future__ import annotations

import threading
from typing import Self


class Sweeper:
    """Calls ``sweep()`` every ``interval`` seconds on a daemon thread, from ``__enter__`` to ``__exit__``."""

    name = "sweeper"
    join_timeout = 10.0

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.join_timeout)

    def sweep(self) -> None:
        raise NotImplementedError

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sweep()
