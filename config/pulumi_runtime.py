"""The one place that reads the Pulumi runtime's config state (partly private SDK API).

``pulumi.runtime.config.CONFIG`` is where the SDK keeps config set by tests and the mock runtime
(``set_all_config``); the engine hands the rest over in the environment. Checked against the pinned
SDK, pulumi 3.259.0.
"""

from __future__ import annotations

from typing import Any

import pulumi

from config.types import PROJECT


def all_keys() -> set[str]:
    """Every config key of the stack, whatever its namespace (``ns:key``)."""
    return set(pulumi.runtime.get_config_env()) | set(pulumi.runtime.config.CONFIG.get())


def raw_config() -> dict[str, Any]:
    """Every config value of this project, whether the engine or a test put it there."""
    merged: dict[str, Any] = dict(pulumi.runtime.get_config_env())
    merged.update(pulumi.runtime.config.CONFIG.get())
    return {k: v for k, v in merged.items() if k.startswith(f"{PROJECT}:")}


def secret_keys(raw: dict[str, Any]) -> set[str]:
    """Keys (without the project prefix) the stack stores encrypted."""
    keys = {k.split(":", 1)[1] for k in raw if pulumi.runtime.is_config_secret(k)}
    return keys | {k.split(":", 1)[1] for k in pulumi.runtime.get_config_secret_keys_env()}


def secret_values(keys: list[str]) -> dict[str, pulumi.Output[str]]:
    """The set ones among ``keys``, as secret Outputs."""
    cfg = pulumi.Config(PROJECT)
    return {key: out for key in keys if (out := cfg.get_secret(key)) is not None}
