"""Verify a running platform end to end, through its gateway; exit 1 with a report when it is not right.

``pulumi up`` runs this as its last step (component ``Verification``); run it yourself at any time:

    GRAFANA_ADMIN_PASSWORD="$(pulumi stack output grafanaAdminPassword --show-secrets)" \\
    LITELLM_MASTER_KEY="$(pulumi stack output litellmMasterKey --show-secrets)" \\
    OTLP_BEARER_TOKEN="$(pulumi stack output otlpBearerToken --show-secrets)" \\
    .venv/bin/python -m verify --gateway "$(pulumi stack output gatewayAddress)" --domain local \\
        --target mock=mock-llm --target collector=otel-collector --target tempo=tempo \\
        --datasource prometheus --datasource tempo --datasource loki

(the ``dev`` stack; ``gpu`` has ``--target vllm=vllm --target dcgm=dcgm-exporter`` instead of
``mock``). ``pulumi stack output verifyCommand`` prints the exact command ``pulumi up`` ran.

It checks: every hostname (``--host``, default: the platform's) answers through the gateway with
its Host header, neither 404 nor 5xx; a test span sent to the gateway on 4318 (OTLP/HTTP) and 4317
(OTLP/gRPC, needs grpcio and opentelemetry-proto, else skipped) is found in Tempo by trace id; a
chat completion through LiteLLM answers and its trace reaches Tempo; each ``--target NAME=MATCH``
has Prometheus targets (job/service/pod/container label or scrape pool containing MATCH), all up;
Grafana's datasources (``--datasource UID``, default: all) pass their health checks.

Secrets come from environment variables named by ``--litellm-key-env``, ``--grafana-password-env``
and ``--otlp-token-env`` (the collector's bearer token, when ``tracing.otlpAuth`` is on), never from
the command line. Every port can be pointed elsewhere
(``--http-port``, ``--https-port``, ``--otlp-http-port``, ``--otlp-grpc-port``), which is how the
tests run it against local stand-ins. A guarded route (Grafana's API, LiteLLM's) must refuse a
caller without credentials (401/403) and answer one with them; an open route passes on 2xx/3xx
only. With ``--https-port`` (a stack with ``gateway.https.enabled``) every check goes over TLS
and port 80 must answer each host with a 301 to https.

Exit codes: 0 all passed (skips only those asked for with ``--skip`` or accepted with
``--allow-skip``), 1 a check failed or was skipped without being accepted, 2 bad usage.
"""

from __future__ import annotations

import argparse
import os
import sys

from verify.checks import CHECKS, Settings, Verifier, report

DEFAULT_HOSTS = ("grafana", "prometheus", "tempo", "litellm", "llm")


def _target(value: str) -> tuple[str, str]:
    name, sep, match = value.partition("=")
    if not sep or not name or not match:
        raise argparse.ArgumentTypeError(f"expected NAME=MATCH, e.g. engine=vllm (given {value!r})")
    return name, match


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m verify", description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway", required=True, help="the gateway's address (stack output gatewayAddress)")
    parser.add_argument("--domain", default="local", help="gateway.baseDomain of the stack (default: local)")
    parser.add_argument("--host", action="append", dest="hosts", metavar="HOSTNAME",
                        help=f"a route hostname to check (repeat; default: {', '.join(DEFAULT_HOSTS)} .<domain>)")
    parser.add_argument("--http-port", type=int, default=80)
    parser.add_argument("--https-port", type=int, metavar="PORT",
                        help="the gateway terminates HTTPS there (gateway.https.enabled): the routes are checked "
                        "over TLS, and --http-port must answer each host with a 301 to https")
    parser.add_argument("--otlp-http-port", type=int, default=4318)
    parser.add_argument("--otlp-grpc-port", type=int, default=4317)
    parser.add_argument("--target", action="append", type=_target, default=[], metavar="NAME=MATCH",
                        help="Prometheus targets that must be up (repeat)")
    parser.add_argument("--datasource", action="append", default=[], metavar="UID",
                        help="Grafana datasource uid that must be healthy (repeat; default: every datasource)")
    parser.add_argument("--grafana-user", default="admin")
    parser.add_argument("--grafana-password-env", default="GRAFANA_ADMIN_PASSWORD", metavar="VAR")
    parser.add_argument("--litellm-key-env", default="LITELLM_MASTER_KEY", metavar="VAR")
    parser.add_argument("--otlp-token-env", default="OTLP_BEARER_TOKEN", metavar="VAR",
                        help="variable holding the collector's OTLP bearer token (test spans go without when unset)")
    parser.add_argument("--model", help="model for the chat completion (default: the first LiteLLM lists)")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds each waiting check retries for (default: 120)")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between retries (default: 2)")
    parser.add_argument("--request-timeout", type=float, default=10.0, help="seconds per request (default: 10)")
    parser.add_argument("--skip", action="append", choices=CHECKS, default=[], help="leave a check out (repeat)")
    parser.add_argument("--allow-skip", action="append", choices=CHECKS, default=[], metavar="NAME",
                        help="accept that NAME may skip itself (e.g. otlp-grpc without grpcio); otherwise exit 1")
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    hosts = args.hosts or [f"{host}.{args.domain}" for host in DEFAULT_HOSTS]
    return Settings(
        gateway=args.gateway, domain=args.domain, hostnames=tuple(hosts),
        http_port=args.http_port, https_port=args.https_port,
        otlp_http_port=args.otlp_http_port, otlp_grpc_port=args.otlp_grpc_port,
        targets=tuple(args.target), datasources=tuple(args.datasource),
        grafana_user=args.grafana_user, grafana_password=os.environ.get(args.grafana_password_env) or None,
        litellm_key=os.environ.get(args.litellm_key_env) or None, model=args.model,
        otlp_token=os.environ.get(args.otlp_token_env) or None,
        timeout=args.timeout, interval=args.interval, request_timeout=args.request_timeout,
        skip=frozenset(args.skip), allow_skip=frozenset(args.allow_skip),
    )


def main(argv: list[str] | None = None) -> int:
    settings = settings_from(parse_args(argv))
    results = Verifier(settings).run()
    print(report(settings, results), flush=True)
    return 1 if any(r.fails_run for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
