"""Every metric a dashboard, alert, recording rule or autoscaler asks for exists at the pinned versions.

A renamed metric (vLLM's ``gpu_cache_usage_perc`` -> ``kv_cache_usage_perc``) leaves a panel blank
and an alert silent without any error anywhere. So each PromQL expression the plan provisions
(Grafana dashboard ConfigMaps, PrometheusRule objects, kube-prometheus-stack's
``additionalPrometheusRulesMap``, KEDA ``prometheus`` triggers) is tokenized (``offline.promql``)
and each metric name must be in a table of ``metrics/contract/`` or be a recording rule the plan
defines. A table whose version is not the pinned one is a finding too: its names prove nothing.
A name the table marks deprecated is still exposed, so it is an advisory finding naming the successor.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from offline import metric_contract, promql
from offline.checks.gateway import chart_name
from offline.plan import Finding, Plan

CHECK = "metric-contract"
DASHBOARD_LABEL = "grafana_dashboard"
"""The label Grafana's sidecar provisions dashboards from (components.monitoring_stack)."""
LABEL_VALUES = re.compile(r"^\s*label_values\s*\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$", re.S)
QUERY_RESULT = re.compile(r"^\s*query_result\s*\((.*)\)\s*$", re.S)


@dataclass(frozen=True)
class Usage:
    """One PromQL expression the platform provisions, and where."""

    where: str
    urn: str
    expr: str


def _dashboard_models(plan: Plan) -> Iterator[tuple[str, dict[str, Any]]]:
    """(urn, dashboard JSON) for every ConfigMap value that is a Grafana dashboard."""
    for config_map in plan.k8s("ConfigMap"):
        data = config_map.inputs.get("data")
        for value in (data or {}).values() if isinstance(data, dict) else ():
            try:
                model = json.loads(value) if isinstance(value, str) else None
            except json.JSONDecodeError:
                continue
            if isinstance(model, dict) and isinstance(model.get("panels"), list):
                yield config_map.urn, model


def _panels(panels: list[Any]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        if isinstance(panel, dict):
            yield panel
            yield from _panels(panel.get("panels") or [])  # collapsed rows keep their panels inside


def _is_prometheus(datasource: Any, default: bool) -> bool:
    if isinstance(datasource, dict) and datasource.get("type"):
        return str(datasource["type"]) == "prometheus"
    return default


def _template_expr(query: Any) -> str | None:
    """The PromQL inside a Grafana query variable (``label_values(expr, label)``, ``query_result(expr)``)."""
    text = query.get("query") if isinstance(query, dict) else query
    if not isinstance(text, str):
        return None
    for pattern in (LABEL_VALUES, QUERY_RESULT):
        if match := pattern.match(text):
            return match.group(1)
    return None  # label_values(label), label_names(), metrics(regex): no selector


def dashboard_usages(plan: Plan) -> list[Usage]:
    usages = []
    for urn, model in _dashboard_models(plan):
        name = f"dashboard {model.get('uid', '?')}"
        for panel in _panels(model["panels"]):
            panel_is_prometheus = _is_prometheus(panel.get("datasource"), default=True)
            for target in panel.get("targets") or []:
                if not (isinstance(target, dict) and isinstance(target.get("expr"), str) and target["expr"].strip()):
                    continue
                if _is_prometheus(target.get("datasource"), default=panel_is_prometheus):
                    usages.append(Usage(f"{name} panel {panel.get('title', '?')!r}", urn, target["expr"]))
        for variable in (model.get("templating") or {}).get("list") or []:
            if not (isinstance(variable, dict) and variable.get("type") == "query"):
                continue
            expr = _template_expr(variable.get("query")) if _is_prometheus(variable.get("datasource"), True) else None
            if expr:
                usages.append(Usage(f"{name} variable {variable.get('name', '?')!r}", urn, expr))
    return usages


def _rule_groups(plan: Plan) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(where, urn, group) for PrometheusRule objects and kube-prometheus-stack's extra rule map."""
    for rule in plan.k8s("PrometheusRule", "monitoring.coreos.com/"):
        for group in (rule.inputs.get("spec") or {}).get("groups") or []:
            yield f"PrometheusRule {rule.k8s_name}", rule.urn, group
    for chart in plan.charts():
        values = chart.inputs.get("values")
        if chart_name(chart) == "kube-prometheus-stack" and isinstance(values, dict):
            for key, entry in (values.get("additionalPrometheusRulesMap") or {}).items():
                for group in (entry or {}).get("groups") or []:
                    yield f"kube-prometheus-stack additionalPrometheusRulesMap.{key}", chart.urn, group


def rule_usages(plan: Plan) -> tuple[list[Usage], set[str]]:
    """Rule expressions, and the names recording rules define."""
    usages: list[Usage] = []
    recorded: set[str] = set()
    for where, urn, group in _rule_groups(plan):
        for rule in group.get("rules") or []:
            if rule.get("record"):
                recorded.add(str(rule["record"]))
            label = f"alert {rule['alert']}" if rule.get("alert") else f"record {rule.get('record')}"
            if isinstance(rule.get("expr"), str):
                usages.append(Usage(f"{where} group {group.get('name', '?')!r} {label}", urn, rule["expr"]))
    return usages, recorded


def autoscaler_usages(plan: Plan) -> list[Usage]:
    """KEDA ScaledObject/ScaledJob triggers of type ``prometheus``."""
    usages = []
    for kind in ("ScaledObject", "ScaledJob"):
        for scaled in plan.k8s(kind, "keda.sh/"):
            for trigger in (scaled.inputs.get("spec") or {}).get("triggers") or []:
                query = (trigger.get("metadata") or {}).get("query")
                if trigger.get("type") == "prometheus" and isinstance(query, str):
                    usages.append(Usage(f"{kind} {scaled.k8s_name} trigger", scaled.urn, query))
    return usages


def _explain(name: str, tables: list[metric_contract.SourceTable], known: set[str]) -> str:
    """Why ``name`` is unknown: a source hides it at this version, or the closest known names."""
    for table in tables:
        for hidden, why in table.hidden.items():
            if name == hidden or metric_contract.base_name(name) == metric_contract.base_name(hidden):
                return f"{table.source} {table.version} does not expose it: {why}"
    close = difflib.get_close_matches(name, sorted(known), n=2, cutoff=0.75)
    return f"did you mean {' or '.join(close)}?" if close else "no pinned source exposes it"


def unreadable(plan: Plan) -> list[Finding]:
    """Rule objects and dashboard ConfigMaps whose expressions cannot be read: fail closed, not pass."""
    findings = []
    for rule in plan.k8s("PrometheusRule", "monitoring.coreos.com/"):
        groups = (rule.inputs.get("spec") or {}).get("groups") if isinstance(rule.inputs.get("spec"), dict) else None
        if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
            findings.append(Finding(CHECK, "mandatory", rule.urn, f"PrometheusRule {rule.k8s_name}: groups unreadable"))
    dashboards = {urn for urn, _ in _dashboard_models(plan)}
    for config_map in plan.k8s("ConfigMap"):
        labels = config_map.metadata.get("labels") or {}
        if DASHBOARD_LABEL in labels and config_map.urn not in dashboards:
            message = f"ConfigMap {config_map.k8s_name} is labelled {DASHBOARD_LABEL} but holds no readable dashboard"
            findings.append(Finding(CHECK, "mandatory", config_map.urn, message))
    return findings


def check_metric_contract(plan: Plan) -> list[Finding]:
    try:
        tables = metric_contract.load()
    except (OSError, ValueError) as exc:  # fail closed: no contract, no pass
        return [Finding(CHECK, "mandatory", None, f"cannot read the metric contract: {exc}")]
    findings = unreadable(plan)
    rules, recorded = rule_usages(plan)
    usages = dashboard_usages(plan) + rules + autoscaler_usages(plan)
    known = set().union(*(t.metrics for t in tables)) | recorded
    deprecated = {base: (t, why) for t in tables for base, why in t.deprecated.items()}
    used: set[str] = set()
    seen: set[tuple[str, str]] = set()  # one finding per place and name, not per quantile query
    for usage in usages:
        try:
            names = promql.metric_names(usage.expr)
        except promql.PromQLSyntaxError as exc:
            message = f"{usage.where}: cannot read the expression ({exc})"
            findings.append(Finding(CHECK, "mandatory", usage.urn, message))
            continue
        used |= names
        for name in sorted(names):
            if (usage.where, name) in seen:
                continue
            seen.add((usage.where, name))
            if name not in known:
                findings.append(Finding(
                    CHECK, "mandatory", usage.urn,
                    f"{usage.where} uses {name}, which is not in the metric contract of the pinned versions "
                    f"({_explain(name, tables, known)})",
                ))
            elif (base := metric_contract.base_name(name)) in deprecated or name in deprecated:
                table, why = deprecated.get(base) or deprecated[name]
                successor = table.successor(base if base in table.deprecated else name)
                findings.append(Finding(  # still exposed: a warning now, a blank panel after the bump
                    CHECK, "advisory", usage.urn,
                    f"{usage.where} uses {name}, deprecated at {table.source} {table.version}: use {successor} ({why})",
                ))
    # A table proves something only at the version deployed: check those the expressions rely on.
    for table in tables:
        relied_on = used & (table.metrics | set(table.hidden))
        if not relied_on:
            continue
        pinned = metric_contract.pinned_version(table.pin, plan)
        if pinned != table.version:
            findings.append(Finding(
                CHECK, "mandatory", None,
                f"metrics/contract/{table.source}.yaml lists {table.source} {table.version}, but the platform pins "
                f"{pinned} ({table.pin}) and uses {len(relied_on)} of its metrics: refresh the table from that "
                f"version ({table.reference.get('repo')})",
            ))
    return findings


CHECKS = [check_metric_contract]
