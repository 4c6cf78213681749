"""The checks: each asks the platform, through its gateway, whether one promise holds.

Checks that depend on something settling (pods starting, spans ingested, targets scraped) retry
until their deadline; a check gives PASS, FAIL or SKIP and one line saying what it saw.

Fail closed: an open route passes only on 2xx/3xx (a 401/403 there is a refusal, not an answer);
a guarded route must refuse without credentials (401/403) and answer with them (2xx); a SKIP
counts as a failure unless it was asked for (``--skip NAME``) or accepted (``--allow-skip NAME``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from verify import otlp
from verify.gateway import Gateway, basic_auth

Status = Literal["PASS", "FAIL", "SKIP"]
CHECKS = ("routes", "auth", "otlp-http", "otlp-grpc", "litellm", "prometheus", "grafana")

PROBE_PATHS = {
    "grafana": "/api/health",
    "prometheus": "/-/ready",
    "tempo": "/ready",
    "litellm": "/health/liveliness",
    "llm": "/v1/models",
    "langfuse": "/api/public/health",
}
"""Per host (first label of the hostname): a path its backend answers without credentials."""

GUARDED_PATHS = {
    "grafana": "/api/datasources",
    "litellm": "/v1/models",
}
"""Per host: a path that must refuse a caller without credentials and answer one with them."""

TARGET_LABELS = ("job", "service", "pod", "container")
"""Target labels a ``--target NAME=MATCH`` substring is looked for in (and the scrape pool)."""


@dataclass(frozen=True)
class Result:
    status: Status
    check: str
    detail: str
    group: str = ""
    """The check of ``CHECKS`` this result belongs to (what ``--skip``/``--allow-skip`` name)."""
    accepted: bool = False
    """For a SKIP: asked for (``--skip``) or accepted (``--allow-skip``); any other SKIP fails the run."""

    @property
    def fails_run(self) -> bool:
        return self.status == "FAIL" or (self.status == "SKIP" and not self.accepted)


@dataclass(frozen=True)
class Settings:
    gateway: str
    domain: str
    hostnames: tuple[str, ...]
    http_port: int = 80
    https_port: int | None = None
    """Set when the gateway terminates HTTPS: routes are checked there, and port 80 must only redirect."""
    otlp_http_port: int = 4318
    otlp_grpc_port: int = 4317
    targets: tuple[tuple[str, str], ...] = ()
    datasources: tuple[str, ...] = ()
    grafana_user: str = "admin"
    grafana_password: str | None = None
    litellm_key: str | None = None
    otlp_token: str | None = None
    """The collector's bearer token (``tracing.otlpAuth``); test spans go without one when None."""
    model: str | None = None
    timeout: float = 120.0
    interval: float = 2.0
    request_timeout: float = 10.0
    skip: frozenset[str] = field(default_factory=frozenset)
    allow_skip: frozenset[str] = field(default_factory=frozenset)

    def host(self, service: str) -> str:
        return f"{service}.{self.domain}"


Attempt = Callable[[str], tuple[bool, str]]


def poll_all(keys: Iterable[str], attempt: Attempt, timeout: float, interval: float) -> dict[str, tuple[bool, str]]:
    """Retry ``attempt(key)`` for every key not passed yet, until all pass or ``timeout`` runs out."""
    deadline = time.monotonic() + timeout
    results: dict[str, tuple[bool, str]] = {}
    pending = list(dict.fromkeys(keys))
    while pending:
        for key in list(pending):
            try:
                results[key] = attempt(key)
            except OSError as exc:
                results[key] = (False, f"connection failed: {exc}")
            except ValueError as exc:  # a body that is not the JSON the API promises
                results[key] = (False, f"unexpected answer: {exc}")
            if results[key][0]:
                pending.remove(key)
        remaining = deadline - time.monotonic()
        if not pending or remaining <= 0:
            break
        time.sleep(min(interval, remaining))
    return results


class Verifier:
    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.plain = Gateway(settings.gateway, settings.http_port, settings.request_timeout)
        https = settings.https_port is not None
        self.web = Gateway(settings.gateway, settings.https_port or settings.http_port, settings.request_timeout,
                           tls=https) if https else self.plain
        self.results: list[Result] = []
        self._completion = ""
        self._listed: dict[str, str] = {}

    def run(self) -> list[Result]:
        s = self.s
        for check, run in (("routes", self.routes), ("auth", self.guarded_routes)):
            if check in s.skip:
                self.add("SKIP", check, "skipped on request (--skip)")
            else:
                run()
        traces: dict[str, str] = {}
        for check, send in (("otlp-http", self.send_http_span), ("otlp-grpc", self.send_grpc_span),
                            ("litellm", self.chat_completion)):
            if check in s.skip:
                self.add("SKIP", check, "skipped on request (--skip)")
            elif (trace_id := send()) is not None:
                traces[check] = trace_id
        if traces:
            self.traces_in_tempo(traces)
        for check, run in (("prometheus", self.prometheus_targets), ("grafana", self.grafana_datasources)):
            if check in s.skip:
                self.add("SKIP", check, "skipped on request (--skip)")
            else:
                run()
        return self.results

    def add(self, status: Status, check: str, detail: str, group: str | None = None) -> None:
        group = group or check.split()[0]
        accepted = status == "SKIP" and (group in self.s.skip or group in self.s.allow_skip)
        if status == "SKIP" and not accepted:
            detail += f" [not accepted: exit 1; --allow-skip {group} accepts it]"
        self.results.append(Result(status, check, detail, group, accepted))

    # --- routes ---------------------------------------------------------------------------

    def routes(self) -> None:
        if not self.s.hostnames:
            self.add("SKIP", "routes", "no hostnames given")
            return

        def probe(host: str) -> tuple[bool, str]:
            path = PROBE_PATHS.get(host.split(".")[0], "/")
            if self.web is not self.plain:
                redirect = self.plain.request("GET", host, path)
                location = redirect.headers.get("location", "")
                if redirect.status != 301 or not location.startswith(f"https://{host}"):
                    return False, (f"GET {self.plain.url(host, path)} -> {redirect.status} {location} "
                                   f"(want 301 to https://{host}: with HTTPS on, port 80 only redirects)")
            response = self.web.request("GET", host, path)
            ok = 200 <= response.status < 400  # an open path: a 401/403 is a refusal, never a pass
            return ok, f"GET {self.web.url(host, path)} -> {response.status}{_route_hint(response.status)}"

        for host, (ok, detail) in poll_all(self.s.hostnames, probe, self.s.timeout, self.s.interval).items():
            self.add("PASS" if ok else "FAIL", f"route {host}", detail, group="routes")

    def guarded_routes(self) -> None:
        """Each guarded path refuses a caller without credentials (401/403) and answers one with them (2xx)."""
        guarded = [h for h in self.s.hostnames if h.split(".")[0] in GUARDED_PATHS]
        if not guarded:
            self.add("SKIP", "auth", "no guarded hostname (grafana, litellm) among the routes")
            return
        credentials = {
            "grafana": ({"Authorization": basic_auth(self.s.grafana_user, self.s.grafana_password)}
                        if self.s.grafana_password else None, "--grafana-password-env"),
            "litellm": ({"Authorization": f"Bearer {self.s.litellm_key}"} if self.s.litellm_key else None,
                        "--litellm-key-env"),
        }

        def probe(host: str) -> tuple[bool, str]:
            service = host.split(".")[0]
            path, (headers, flag) = GUARDED_PATHS[service], credentials[service]
            if headers is None:
                return False, f"no credentials for {host}: set the variable named by {flag}"
            anonymous = self.web.request("GET", host, path).status
            if anonymous not in (401, 403):
                return False, f"GET {self.web.url(host, path)} without credentials -> {anonymous} (want 401/403)"
            authorized = self.web.request("GET", host, path, headers=headers).status
            if not 200 <= authorized < 300:
                return False, f"GET {self.web.url(host, path)} with credentials -> {authorized} (want 2xx)"
            return True, f"GET {path}: {anonymous} without credentials, {authorized} with them"

        for host, (ok, detail) in poll_all(guarded, probe, self.s.timeout, self.s.interval).items():
            self.add("PASS" if ok else "FAIL", f"auth {host}", detail, group="auth")

    # --- spans ----------------------------------------------------------------------------

    def send_http_span(self) -> str | None:
        trace_id = otlp.new_trace_id()
        gateway = Gateway(self.s.gateway, self.s.otlp_http_port, self.s.request_timeout)
        error = otlp.send_http(gateway, trace_id, "verify otlp-http", self.s.otlp_token)
        if error:
            self.add("FAIL", "otlp-http", error)
            return None
        return trace_id

    def send_grpc_span(self) -> str | None:
        sender, reason = otlp.grpc_sender()
        if sender is None:
            self.add("SKIP", "otlp-grpc", reason)
            return None
        trace_id = otlp.new_trace_id()
        error = sender(self.s.gateway, self.s.otlp_grpc_port, trace_id, "verify otlp-grpc", self.s.request_timeout,
                       self.s.otlp_token)
        if error:
            self.add("FAIL", "otlp-grpc", error)
            return None
        return trace_id

    def chat_completion(self) -> str | None:
        """One chat completion through LiteLLM, carrying a traceparent whose trace must reach Tempo."""
        host = self.s.host("litellm")
        if host not in self.s.hostnames:
            self.add("SKIP", "litellm", f"{host} is not among the gateway's hostnames (litellm disabled)")
            return None
        if not self.s.litellm_key:
            self.add("FAIL", "litellm", "no LiteLLM master key: set the variable named by --litellm-key-env")
            return None
        trace_id = otlp.new_trace_id()
        headers = {"Authorization": f"Bearer {self.s.litellm_key}",
                   "traceparent": otlp.traceparent(trace_id, otlp.new_span_id())}

        def complete(_: str) -> tuple[bool, str]:
            model = self.s.model or self._first_model(host, headers)
            if model is None:
                return False, f"GET {self.web.url(host, '/v1/models')} listed no model"
            payload = {"model": model, "max_tokens": 8, "messages": [{"role": "user", "content": "Say OK."}]}
            path = "/v1/chat/completions"
            response = self.web.json_request("POST", host, path, payload, headers)
            if response.status != 200:
                return False, f"POST {self.web.url(host, path)} -> {response.status}: {response.text()}"
            choices = (response.json() or {}).get("choices") or []
            if not choices:
                return False, f"model {model} answered without choices: {response.text()}"
            return True, f"model {model} answered"

        ok, detail = poll_all(["litellm"], complete, self.s.timeout, self.s.interval)["litellm"]
        if not ok:
            self.add("FAIL", "litellm", detail)
            return None
        self._completion = detail
        return trace_id

    def _first_model(self, host: str, headers: dict[str, str]) -> str | None:
        response = self.web.request("GET", host, "/v1/models", headers=headers)
        if response.status != 200:
            return None
        models = (response.json() or {}).get("data") or []
        return str(models[0]["id"]) if models else None

    def traces_in_tempo(self, traces: dict[str, str]) -> None:
        """Every trace id sent must become readable in Tempo's API (``/api/traces/<id>``)."""
        host = self.s.host("tempo")
        started = time.monotonic()
        found_at: dict[str, float] = {}

        def lookup(check: str) -> tuple[bool, str]:
            path = f"/api/traces/{traces[check]}"
            response = self.web.request("GET", host, path, headers={"Accept": "application/json"})
            if response.status == 200:
                found_at.setdefault(check, time.monotonic() - started)
                return True, f"trace {traces[check]} found in Tempo after {found_at[check]:.1f}s"
            return False, f"GET {self.web.url(host, path)} -> {response.status}"

        for check, (ok, detail) in poll_all(traces, lookup, self.s.timeout, self.s.interval).items():
            if check == "litellm" and ok:
                detail = f"{self._completion}; {detail}"
            elif not ok:
                detail = (f"trace {traces[check]} not found in Tempo within {self.s.timeout:g}s (last: {detail}); "
                          f"the span was accepted, so look at the collector's export to Tempo")
            self.add("PASS" if ok else "FAIL", check, detail, group=check)

    # --- metrics and dashboards -----------------------------------------------------------

    def prometheus_targets(self) -> None:
        if not self.s.targets:
            self.add("SKIP", "prometheus", "no --target NAME=MATCH given")
            return
        host, expected = self.s.host("prometheus"), dict(self.s.targets)
        verdicts: dict[str, tuple[bool, str]] = {}

        def scrape_round(_: str) -> tuple[bool, str]:
            """One read of the active targets, judged for every expected one."""
            response = self.web.request("GET", host, "/api/v1/targets?state=active")
            if response.status != 200:
                return False, f"GET {self.web.url(host, '/api/v1/targets')} -> {response.status}: {response.text()}"
            active = ((response.json() or {}).get("data") or {}).get("activeTargets") or []
            verdicts.update({name: _judge_targets(active, match) for name, match in expected.items()})
            return all(ok for ok, _ in verdicts.values()), ""

        _, detail = poll_all(["targets"], scrape_round, self.s.timeout, self.s.interval)["targets"]
        if not verdicts:
            self.add("FAIL", "prometheus", detail)
        for name, (ok, detail) in verdicts.items():
            self.add("PASS" if ok else "FAIL", f"prometheus target {name}", detail, group="prometheus")

    def grafana_datasources(self) -> None:
        host = self.s.host("grafana")
        if not self.s.grafana_password:
            self.add("FAIL", "grafana", "no Grafana admin password: set the variable named by --grafana-password-env")
            return
        auth = {"Authorization": basic_auth(self.s.grafana_user, self.s.grafana_password)}
        listed = poll_all(["list"], lambda _: self._datasources(host, auth), self.s.timeout, self.s.interval)["list"]
        if not listed[0]:
            self.add("FAIL", "grafana", listed[1])
            return
        uids = self.s.datasources or tuple(self._listed)
        missing = [uid for uid in uids if uid not in self._listed]
        for uid in missing:
            self.add("FAIL", f"grafana datasource {uid}", f"not provisioned (Grafana has: {sorted(self._listed)})",
                     group="grafana")

        def health(uid: str) -> tuple[bool, str]:
            path = f"/api/datasources/uid/{uid}/health"
            response = self.web.request("GET", host, path, headers=auth)
            body = response.json() if response.body.startswith(b"{") else {}
            if response.status == 200 and str(body.get("status", "")).upper() == "OK":
                return True, f"{self._listed[uid]}: {body.get('message', 'OK')}"
            if response.status == 501 and uid not in self.s.datasources:
                return True, f"{NO_HEALTH_CHECK}{self._listed[uid]}"
            return False, f"{self._listed[uid]}: GET {path} -> {response.status} {body.get('message', response.text())}"

        present = [uid for uid in uids if uid in self._listed]
        for uid, (ok, detail) in poll_all(present, health, self.s.timeout, self.s.interval).items():
            if detail.startswith(NO_HEALTH_CHECK):  # nothing was verified: a SKIP, not a PASS
                self.add("SKIP", f"grafana datasource {uid}", detail.removeprefix(NO_HEALTH_CHECK)
                         + ": no health check in this plugin", group="grafana")
            else:
                self.add("PASS" if ok else "FAIL", f"grafana datasource {uid}", detail, group="grafana")

    def _datasources(self, host: str, auth: dict[str, str]) -> tuple[bool, str]:
        response = self.web.request("GET", host, "/api/datasources", headers=auth)
        if response.status != 200:
            return False, f"GET {self.web.url(host, '/api/datasources')} -> {response.status}: {response.text()}"
        self._listed = {str(d["uid"]): f"{d.get('name')} ({d.get('type')})" for d in response.json() or []}
        if not self._listed:
            return False, "Grafana lists no datasources"
        return True, f"{len(self._listed)} datasource(s)"


NO_HEALTH_CHECK = "no health check: "


def _route_hint(status: int) -> str:
    if status in (401, 403):
        return " (refused on a path that needs no credentials: does gateway.adminAllowedCidrs admit this client?)"
    if status == 404:
        return " (no route for this host: is its HTTPRoute accepted by the Gateway?)"
    if status == 503:
        return " (route matched, no healthy backend: are the Service's pods ready?)"
    if status >= 500:
        return " (the backend failed)"
    return ""


def _judge_targets(active: list[dict[str, Any]], match: str) -> tuple[bool, str]:
    matching = [t for t in active if _target_matches(t, match)]
    if not matching:
        return False, f"no active target matches {match!r} (is its ServiceMonitor/PodMonitor selected?)"
    down = [t for t in matching if t.get("health") != "up"]
    if down:
        first = down[0]
        return False, (f"{len(down)}/{len(matching)} target(s) not up, e.g. {first.get('scrapeUrl')}: "
                       f"{first.get('health')} {first.get('lastError') or ''}".rstrip())
    return True, f"{len(matching)} target(s) up, e.g. {matching[0].get('scrapeUrl')}"


def _target_matches(target: dict[str, Any], match: str) -> bool:
    labels = target.get("labels") or {}
    values = [str(labels.get(key, "")) for key in TARGET_LABELS] + [str(target.get("scrapePool", ""))]
    return any(match in value for value in values)


def report(settings: Settings, results: list[Result]) -> str:
    """The readable report: one line per check, then the counts."""
    width = max((len(r.check) for r in results), default=10)
    lines = [f"Platform verification through the gateway {settings.gateway} (domain {settings.domain})"]
    lines += [f"  {r.status}  {r.check:<{width}}  {r.detail}" for r in results]
    counts = {status: sum(r.status == status for r in results) for status in ("PASS", "FAIL", "SKIP")}
    refused = sum(r.status == "SKIP" and not r.accepted for r in results)
    lines.append(f"{counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped"
                 + (f" ({refused} not accepted)" if refused else ""))
    failed = [r for r in results if r.fails_run]
    if failed:
        lines.append("FAILED: " + ", ".join(r.check for r in failed))
    return "\n".join(lines)
