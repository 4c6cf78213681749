"""The lab's own PULUMI_HOME: the toolchain's plugins, and a CLI that writes no automatic log."""

from __future__ import annotations

import subprocess
from pathlib import Path

from lab.pulumi_home import own_home
from tests.support import missing
from tools.paths import pulumi_cache

CLI = pulumi_cache() / "bin" / "pulumi"


def test_the_home_links_the_plugins_and_has_a_file_where_logs_would_go(tmp_path: Path) -> None:
    toolchain_home = tmp_path / "toolchain-home"
    (toolchain_home / "plugins" / "resource-kubernetes-v4.32.0").mkdir(parents=True)
    env = {"PULUMI_HOME": str(toolchain_home)}

    home = own_home(env, tmp_path / "lab")

    assert env["PULUMI_HOME"] == str(home) != str(toolchain_home)
    assert (home / "plugins" / "resource-kubernetes-v4.32.0").is_dir()
    assert (home / "logs").is_file()
    assert own_home(env | {"PULUMI_HOME": str(toolchain_home)}, tmp_path / "lab") == home  # a second call is fine


def test_without_a_home_in_env_the_plugins_are_the_cli_defaults(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(Path, "home", lambda: tmp_path / "user")
    env: dict[str, str] = {}
    home = own_home(env, tmp_path / "lab")
    assert (home / "plugins").readlink() == tmp_path / "user" / ".pulumi" / "plugins"


NOT_BUILT = "the toolchain's Pulumi CLI is not built (python -m tools.toolchain pulumi)"


def test_the_real_cli_logs_in_a_plain_home_and_not_in_the_labs(tmp_path: Path) -> None:
    """The mechanism itself, on the pinned CLI: every command (even ``version``) starts its log."""
    if not CLI.exists():
        missing(NOT_BUILT)
    plain = tmp_path / "plain"
    subprocess.run([str(CLI), "version"], env={"PULUMI_HOME": str(plain), "PATH": ""}, check=True,
                   capture_output=True)  # fmt: skip
    assert list((plain / "logs").glob("*.log")), "the CLI writes no automatic log now: lab/pulumi_home.py is moot"

    env: dict[str, str] = {"PULUMI_HOME": str(plain)}
    home = own_home(env, tmp_path / "lab")
    done = subprocess.run([str(CLI), "version"], env={**env, "PATH": ""}, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "v3.259.0"
    assert (home / "logs").is_file()
    assert sorted(p.name for p in home.iterdir()) == ["logs", "plugins"]
