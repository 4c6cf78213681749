"""Where the repository finds what lives outside it: the ``shared`` folder and the build caches.

Every location is relative to the checkout or given by an environment variable; nothing here names
a machine path.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """The toolchain, chart mirror and references: ``$LLM_TRACING_SHARED``, else ``shared`` beside the checkout."""
    explicit = os.environ.get("LLM_TRACING_SHARED")
    return Path(explicit) if explicit else ROOT.parent / "shared"


def cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def tool_cache() -> Path:
    """This project's own build cache (the collector, toolchain logs)."""
    explicit = os.environ.get("LLM_TRACING_INFRA_CACHE")
    return Path(explicit) if explicit else cache_home() / "llm-tracing-infra"


def pulumi_cache() -> Path:
    """The Pulumi toolchain's cache, which also holds the Go caches every build shares."""
    explicit = os.environ.get("PULUMI_BUILD_CACHE")
    return Path(explicit) if explicit else cache_home() / "pulumi-offline"
