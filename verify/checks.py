"""The checks: each asks the platform, through its gateway, whether one promise holds.

Checks that depend on something settling (pods starting, spans ingested, targets scraped) retry
until their deadline; a check gives PASS, FAIL or SKIP and one line saying what it saw.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from verify import otlp
from verify.gateway import Gateway, basic_auth

Status = Literal["PASS", "FAIL", "SKIP"]
CHECKS = ("routes", "otlp-http", "otlp-grpc", "litellm", "prometheus", "grafana")

PROBE_PATHS = {
    "grafana": "/api/health",
    "prometheus": "/-/ready",
    "tempo": "/ready",
    "litellm": "/health/liveliness",
    "llm": "/v1/models",
    "langfuse": "/api/public/health",
}
"""Per host (first label of the hostname): a path its backend answers without credentials."""

TARGET_LABELS = ("job", "service", "pod", "container")
"""Target labels a ``--target NAME=MATCH`` substring is looked for in (and the scrape pool)."""


@dataclass(frozen=True)
class Result:
    status: Status
    check: str
    detail: str


@dataclass(frozen=True)
class Settings:
    gateway: str
    domain: str
    hostnames: tuple[str, ...]
    http_port: int = 80
    otlp_http_port: int = 4318
    otlp_grpc_port: int = 4317
    targets: tuple[tuple[str, str], ...] = ()
    datasources: tuple[str, ...] = ()
    grafana_user: str = "admin"
    grafana_password: str | None = None
    litellm_key: str | None = None
    model: str | None = None
    timeout: float = 120.0
    interval: float = 2.0
    request_timeout: float = 10.0
    skip: frozenset[str] = field(default_factory=frozenset)

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
        self.web = Gateway(settings.gateway, settings.http_port, settings.request_timeout)
        self.results: list[Result] = []
        self._completion = ""
        self._listed: dict[str, str] = {}

    def run(self) -> list[Result]:
        s = self.s
        if "routes" not in s.skip:
            self.routes()
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

    def add(self, status: Status, check: str, detail: str) -> None:
        self.results.append(Result(status, check, detail))

    # --- routes ---------------------------------------------------------------------------

    def routes(self) -> None:
        if not self.s.hostnames:
            self.add("SKIP", "routes", "no hostnames given")
            return

        def probe(host: str) -> tuple[bool, str]:
            path = PROBE_PATHS.get(host.split(".")[0], "/")
            response = self.web.request("GET", host, path)
            ok = response.status < 500 and response.status != 404
            return ok, f"GET {self.web.url(host, path)} -> {response.status}{_route_hint(response.status)}"

        for host, (ok, detail) in poll_all(self.s.hostnames, probe, self.s.timeout, self.s.interval).items():
            self.add("PASS" if ok else "FAIL", f"route {host}", detail)

    # --- spans ----------------------------------------------------------------------------

    def send_http_span(self) -> str | None:
        trace_id = otlp.new_trace_id()
        gateway = Gateway(self.s.gateway, self.s.otlp_http_port, self.s.request_timeout)
        error = otlp.send_http(gateway, trace_id, "verify otlp-http")
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
        error = sender(self.s.gateway, self.s.otlp_grpc_port, trace_id, "verify otlp-grpc", self.s.request_timeout)
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
            self.add("PASS" if ok else "FAIL", check, detail)

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
            self.add("PASS" if ok else "FAIL", f"prometheus target {name}", detail)

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
            self.add("FAIL", f"grafana datasource {uid}", f"not provisioned (Grafana has: {sorted(self._listed)})")

        def health(uid: str) -> tuple[bool, str]:
            path = f"/api/datasources/uid/{uid}/health"
            response = self.web.request("GET", host, path, headers=auth)
            body = response.json() if response.body.startswith(b"{") else {}
            if response.status == 200 and str(body.get("status", "")).upper() == "OK":
                return True, f"{self._listed[uid]}: {body.get('message', 'OK')}"
            if response.status == 501 and uid not in self.s.datasources:
                return True, f"{self._listed[uid]}: no health check in this plugin"
            return False, f"{self._listed[uid]}: GET {path} -> {response.status} {body.get('message', response.text())}"

        present = [uid for uid in uids if uid in self._listed]
        for uid, (ok, detail) in poll_all(present, health, self.s.timeout, self.s.interval).items():
            self.add("PASS" if ok else "FAIL", f"grafana datasource {uid}", detail)

    def _datasources(self, host: str, auth: dict[str, str]) -> tuple[bool, str]:
        response = self.web.request("GET", host, "/api/datasources", headers=auth)
        if response.status != 200:
            return False, f"GET {self.web.url(host, '/api/datasources')} -> {response.status}: {response.text()}"
        self._listed = {str(d["uid"]): f"{d.get('name')} ({d.get('type')})" for d in response.json() or []}
        if not self._listed:
            return False, "Grafana lists no datasources"
        return True, f"{len(self._listed)} datasource(s)"


def _route_hint(status: int) -> str:
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
    lines.append(f"{counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
    failed = [r for r in results if r.status == "FAIL"]
    if failed:
        lines.append("FAILED: " + ", ".join(r.check for r in failed))
    return "\n".join(lines)
