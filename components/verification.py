"""Verification: the runbook's closing curl checks as the last step of ``pulumi up``.

One ``command.local.Command`` runs ``python -m verify`` (package ``verify/`` of this project)
against the gateway address once everything it reaches is deployed; a failed check fails the
update with the script's report. It runs again whenever what it checks changes (its triggers);
``python -m verify`` re-checks a running platform at any time. Secrets reach it as environment
variables, never on the command line.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

import pulumi
import pulumi_command as command
from pydantic import BaseModel, ConfigDict

from components._k8s import TOKEN_PREFIX
from components.contracts import EngineEndpoint, ServiceRef
from components.dashboards import LOKI_UID, PROMETHEUS_UID, TEMPO_UID
from config.sections import Verification as VerificationSettings

ROOT = Path(__file__).resolve().parent.parent
LITELLM_KEY_ENV = "LITELLM_MASTER_KEY"
OTLP_TOKEN_ENV = "OTLP_BEARER_TOKEN"
GRAFANA_PASSWORD_ENV = "GRAFANA_ADMIN_PASSWORD"
DCGM_TARGET = "dcgm-exporter"
"""Substring of the DCGM exporter's scrape job (the chart's Service is ``<release>-dcgm-exporter``)."""


def scrape_targets(
    engines: Sequence[EngineEndpoint], collector: ServiceRef, tempo: ServiceRef, *, gpu: bool
) -> dict[str, str]:
    """Prometheus targets that must be up: the engines, the collector, Tempo, DCGM on GPU stacks."""
    targets = {e.engine: e.service.name for e in engines}
    targets |= {"collector": collector.name, "tempo": tempo.name}
    if gpu:
        targets["dcgm"] = DCGM_TARGET
    return targets


def datasource_uids(*, loki: bool) -> tuple[str, ...]:
    """Grafana datasources the dashboards use (uids fixed by MonitoringStack): each must be healthy."""
    return (PROMETHEUS_UID, TEMPO_UID, *((LOKI_UID,) if loki else ()))


def python_interpreter() -> str:
    """This program's interpreter (the venv with pulumi-command's deps), relative to the project when inside it.

    Relative keeps the command the same on every machine; the command runs in the project directory.
    """
    executable = Path(sys.executable)
    return str(executable.relative_to(ROOT)) if executable.is_relative_to(ROOT) else str(executable)


def verify_command(address: str, args: VerificationArgs) -> str:
    argv = [python_interpreter(), "-m", "verify", "--gateway", address, "--domain", args.base_domain,
            "--timeout", str(args.settings.timeout_seconds)]
    argv += [arg for host in args.hostnames for arg in ("--host", host)]
    argv += [arg for name, match in sorted(args.targets.items()) for arg in ("--target", f"{name}={match}")]
    argv += [arg for uid in datasource_uids(loki=args.loki) for arg in ("--datasource", uid)]
    argv += ["--litellm-key-env", LITELLM_KEY_ENV, "--grafana-password-env", GRAFANA_PASSWORD_ENV]
    if args.https_port is not None:
        argv += ["--https-port", str(args.https_port)]
    if args.otlp_token is not None:
        argv += ["--otlp-token-env", OTLP_TOKEN_ENV]
    if args.litellm_master_key is None:
        argv += ["--skip", "litellm"]
    return shlex.join(argv)


class VerificationArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    settings: VerificationSettings
    base_domain: str
    """``gateway.baseDomain``: the checks send ``<host>.<baseDomain>`` Host headers."""
    loki: bool
    """The logging stack runs: its Grafana datasource must be healthy too."""
    address: pulumi.Output[str] | str
    """The gateway's address (``GatewayRoutes.address``)."""
    hostnames: list[str]
    """Route hostnames to check (``GatewayRoutes.hostnames``)."""
    https_port: int | None = None
    """``GatewayRoutes.https_port``: the routes answer there, and port 80 only redirects."""
    targets: dict[str, str]
    """Prometheus targets that must be up: name -> substring of their job (see ``scrape_targets``)."""
    grafana_admin_password: pulumi.Output[str] | str
    litellm_master_key: pulumi.Output[str] | str | None = None
    """None when LiteLLM is off: the chat-completion check is skipped."""
    otlp_token: pulumi.Output[str] | str | None = None
    """The collector's OTLP bearer token (``tracing.otlpAuth``): the test spans carry it. None: auth is off."""


class Verification(pulumi.ComponentResource):
    command_line: pulumi.Output[str]
    """The exact ``python -m verify`` invocation (no secrets), to re-run by hand."""

    def __init__(self, name: str, args: VerificationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TOKEN_PREFIX}:verification:Verification", name, None, opts)
        self.command_line = pulumi.Output.from_input(args.address).apply(lambda address: verify_command(address, args))
        environment = {GRAFANA_PASSWORD_ENV: pulumi.Output.secret(args.grafana_admin_password)}
        if args.litellm_master_key is not None:
            environment[LITELLM_KEY_ENV] = pulumi.Output.secret(args.litellm_master_key)
        if args.otlp_token is not None:
            environment[OTLP_TOKEN_ENV] = pulumi.Output.secret(args.otlp_token)
        command.local.Command(
            f"{name}-checks",
            create=self.command_line,
            environment=environment,
            # What is checked: a change re-runs the checks (replacing the command).
            triggers=[args.address, args.base_domain, sorted(args.hostnames),
                      sorted(args.targets.items()), list(datasource_uids(loki=args.loki)),
                      *([args.https_port] if args.https_port is not None else [])],
            # The checks reach everything the component waits for: the command waits for it too.
            opts=pulumi.ResourceOptions(parent=self, depends_on=(opts.depends_on if opts else None)),
        )
        self.register_outputs({"commandLine": self.command_line})
