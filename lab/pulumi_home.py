"""The lab's own ``PULUMI_HOME``: the toolchain's plugins, and no automatic log.

The pinned CLI (3.259) writes a debug-level log of every command, gzipped (and encrypted once the
stack's secrets manager is known), to ``$PULUMI_HOME/logs``, with no setting that turns it off. On
this program that log is most of what the engine does: a no-change preview of ``dev`` (349
resources) wrote 270 MB of it, and the CLI's CPU profile put half of its 83 s in the logger
(property marshalling, gzip). The CLI starts the log only when it can create that directory, so
the lab gives it a home where ``logs`` is a plain file; the same preview then took 19.5 s instead
of 64.6 s (``README.md``, "CI time budget").

Everything else stays as the toolchain set it up: ``plugins`` links to the real plugin directory;
stack selections (``workspaces``) are the lab's own, like its file backend.
"""

from __future__ import annotations

from pathlib import Path

LOGS_NOTE = (
    "The lab's Pulumi CLI finds a file here where it wants its automatic log directory, so it writes no\n"
    "debug log of every operation (lab/pulumi_home.py).\n"
)


def own_home(env: dict[str, str], workdir: Path) -> Path:
    """Point ``env``'s CLI at a home under ``workdir``; returns it.

    The plugins come from the home ``env`` named before (the toolchain's), else the CLI's default.
    """
    previous = Path(env.get("PULUMI_HOME") or Path.home() / ".pulumi")
    home = workdir / "pulumi-home"
    home.mkdir(parents=True, exist_ok=True)
    plugins = home / "plugins"
    if not plugins.is_symlink():
        plugins.symlink_to(previous / "plugins", target_is_directory=True)
    logs = home / "logs"
    if not logs.is_file():
        logs.write_text(LOGS_NOTE)
    env["PULUMI_HOME"] = str(home)
    return home
