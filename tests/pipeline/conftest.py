"""Fixtures of the pipeline tests: the built collector, and a generated pipeline running on 127.0.0.1.

Outside CI the tests that run the collector skip when Go is missing; in CI (``CI`` set) they fail.
The first run builds the collector (``tools/build_collector.py``, many minutes on a cold cache).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tools import build_collector


@pytest.fixture(scope="session")
def collector_binary() -> Path:
    try:
        return build_collector.build(quiet=True)
    except build_collector.GoMissing as missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing} (CI must run the pipeline tests)")
        pytest.skip(f"{missing}; the pipeline tests need it")
