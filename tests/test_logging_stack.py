"""LoggingStack: Loki's values from config, Alloy's pipeline to Loki, and the traceback stitching it does."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

import config
from components import logging_stack
from components._k8s import NO_SIDECAR_LABELS
from offline.checks.gateway import chart_name
from offline.plan import Plan
from offline.runner import run_program
from tests.support import stack_plan

TRACEBACK_LOG = """\
INFO:     Started server process [1]
ERROR:    Exception in ASGI application
Traceback (most recent call last):
  File "/app/server.py", line 10, in handle
    lookup()
KeyError: 'model'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/app/server.py", line 12, in handle
    raise ValueError("bad request")
ValueError: bad request
INFO:     127.0.0.1:5000 - "GET /health HTTP/1.1" 200 OK
2026-08-21 10:00:00,000 WARNING cache miss"""


def values(plan: Plan, name: str) -> dict[str, Any]:
    (chart,) = [c for c in plan.charts() if chart_name(c) == name]
    result = chart.inputs["values"]
    assert isinstance(result, dict)
    return result


def alloy_config(plan: Plan) -> str:
    (config_map,) = [r for r in plan.k8s("ConfigMap") if r.k8s_name == logging_stack.ALLOY_CONFIG]
    return str(config_map.inputs["data"][logging_stack.ALLOY_CONFIG_KEY])


def _river_string(source: str, stage: str, attribute: str, index: int = 0) -> str:
    """The value of ``attribute`` in the ``index``-th ``stage`` block, decoded like Alloy does (JSON escapes)."""
    blocks = re.findall(rf"{re.escape(stage)} \{{(.*?)\n  \}}", source, re.DOTALL)
    match = re.search(rf'{attribute}\s*=\s*("(?:[^"\\]|\\.)*")', blocks[index])
    assert match, f"{stage}.{attribute} not found"
    return str(json.loads(match.group(1)))


def stitch(lines: list[str], source: str) -> list[str]:
    """Alloy's replace -> multiline -> replace stages, as loki.process runs them on one stream."""
    mark_pattern = re.compile(_river_string(source, "stage.replace", "expression", 0))
    replacement = _river_string(source, "stage.replace", "replace", 0)
    first_line = re.compile(_river_string(source, "stage.multiline", "firstline"))
    unmark = re.compile(_river_string(source, "stage.replace", "expression", 1))
    entries: list[str] = []
    for line in lines:
        marked = mark_pattern.sub(lambda m: replacement.replace("{{ .Value }}", m.group(1)), line, count=1)
        if first_line.match(marked) or not entries:
            entries.append(marked)
        else:
            entries[-1] += "\n" + marked
    return [unmark.sub("", entry) for entry in entries]


# ---------------------------------------------------------------------------------------------
# Loki
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "gpu"])
def test_loki_is_a_single_binary_on_the_filesystem(stack: str) -> None:
    v = values(stack_plan(stack), "loki")
    assert v["fullnameOverride"] == logging_stack.endpoints(config.StackConfig().namespaces.logging).loki.name
    assert v["deploymentMode"] == "Monolithic" and v["singleBinary"]["replicas"] == 1
    assert v["loki"]["storage"]["type"] == "filesystem"
    assert v["loki"]["schemaConfig"]["configs"][0]["object_store"] == "filesystem"
    for component in ("minio", "gateway", "chunksCache", "resultsCache", "lokiCanary", "ruler"):
        assert v[component] == {"enabled": False}, component
    assert v["singleBinary"]["resources"] == config.StackConfig().logging.loki_resources.as_k8s()
    # no rules sidecar, so no API access: namespaced RBAC renders no ClusterRole (the lab caught
    # the chart's cluster-wide `rules: []` as a diff on every preview after `up`)
    assert v["sidecar"]["rules"] == {"enabled": False} and v["rbac"]["namespaced"] is True


def test_loki_retention_and_volume_come_from_config() -> None:
    plan = run_program("dev", {"logging.retention": "3d", "logging.storageSize": "30Gi"})
    v = values(plan, "loki")
    assert v["loki"]["limits_config"]["retention_period"] == "72h"
    assert v["loki"]["compactor"]["retention_enabled"] is True
    assert v["singleBinary"]["persistence"]["size"] == "30Gi"
    default = values(stack_plan("dev"), "loki")
    assert default["loki"]["limits_config"]["retention_period"] == "168h"
    assert default["singleBinary"]["persistence"]["annotations"] == {"helm.sh/resource-policy": "keep"}
    assert default["singleBinary"]["persistence"]["enableStatefulSetAutoDeletePVC"] is False


def test_loki_ingestion_limits_come_from_config() -> None:
    limits = values(stack_plan("dev"), "loki")["loki"]["limits_config"]
    assert {k: limits[k] for k in ("ingestion_rate_mb", "ingestion_burst_size_mb", "max_global_streams_per_user",
                                   "max_line_size")} == {
        "ingestion_rate_mb": 4, "ingestion_burst_size_mb": 6, "max_global_streams_per_user": 5000,
        "max_line_size": "256KB",
    }
    plan = run_program("dev", {"logging.limits.ingestionRateMb": "8", "logging.limits.ingestionBurstSizeMb": "16",
                               "logging.limits.maxStreamsPerUser": "20000", "logging.limits.maxLineSizeKib": "1024"})
    limits = values(plan, "loki")["loki"]["limits_config"]
    assert (limits["ingestion_rate_mb"], limits["ingestion_burst_size_mb"]) == (8, 16)
    assert (limits["max_global_streams_per_user"], limits["max_line_size"]) == (20000, "1024KB")


def test_loki_burst_below_rate_is_refused() -> None:
    with pytest.raises(config.ConfigError) as refused:
        config.validate({"logging": {"limits": {"ingestionRateMb": 10, "ingestionBurstSizeMb": 5}}}, set())
    assert "logging.limits" in str(refused.value) and "ingestionBurstSizeMb" in str(refused.value)


def test_logging_can_be_turned_off() -> None:
    plan = run_program("dev", {"logging.enabled": "false"})
    assert not [c for c in plan.charts() if chart_name(c) in ("loki", "alloy")]


# ---------------------------------------------------------------------------------------------
# Alloy
# ---------------------------------------------------------------------------------------------


def test_alloy_pushes_to_the_loki_service() -> None:
    plan = stack_plan("dev")
    loki = logging_stack.endpoints(config.StackConfig().namespaces.logging).loki
    write = alloy_config(plan).split('loki.write "loki"', 1)[1]
    urls = re.findall(r'url\s*=\s*("[^"]*")', write)
    assert [json.loads(u) for u in urls] == [loki.url(path="/loki/api/v1/push")]
    assert loki.url(path="/loki/api/v1/push") == "http://loki.logging.svc.cluster.local:3100/loki/api/v1/push"


def test_alloy_reads_the_config_map_the_component_creates() -> None:
    v = values(stack_plan("dev"), "alloy")["alloy"]["configMap"]
    assert v == {"create": False, "name": logging_stack.ALLOY_CONFIG, "key": logging_stack.ALLOY_CONFIG_KEY}
    assert "{{" not in json.dumps(values(stack_plan("dev"), "alloy")), "nothing for Helm's tpl to eat"


def test_alloy_labels_streams_by_namespace_pod_container_app() -> None:
    source = alloy_config(stack_plan("dev"))
    targets = set(re.findall(r'target_label\s*=\s*"([^"]+)"', source))
    assert targets == {"namespace", "pod", "container", "app"}
    assert 'field = "spec.nodeName="' in source, "each Alloy tails its own node's pods"


def test_alloy_is_a_restricted_daemonset_without_sidecar() -> None:
    v = values(stack_plan("dev"), "alloy")
    assert v["controller"]["type"] == "daemonset"
    assert v["controller"]["podLabels"]["sidecar.istio.io/inject"] == NO_SIDECAR_LABELS["sidecar.istio.io/inject"]
    assert v["alloy"]["mounts"]["varlog"] is False, "logs come through the API, no hostPath"
    assert v["alloy"]["securityContext"]["readOnlyRootFilesystem"] is True
    assert {m["mountPath"] for m in v["alloy"]["mounts"]["extra"]} == {"/tmp"}
    for block in (v["alloy"]["resources"], v["configReloader"]["resources"]):
        assert block["requests"] and block["limits"]


def test_python_tracebacks_are_stitched_into_one_entry() -> None:
    entries = stitch(TRACEBACK_LOG.splitlines(), alloy_config(stack_plan("dev")))
    assert entries[0] == "INFO:     Started server process [1]"
    assert entries[1].startswith("ERROR:    Exception in ASGI application\nTraceback (most recent call last):")
    assert entries[1].endswith("ValueError: bad request"), "the chained traceback stays whole, exception line too"
    assert "During handling of the above exception" in entries[1] and "KeyError: 'model'" in entries[1]
    assert entries[2:] == ['INFO:     127.0.0.1:5000 - "GET /health HTTP/1.1" 200 OK',
                           "2026-08-21 10:00:00,000 WARNING cache miss"]
    assert logging_stack.CONTINUATION_MARK not in "".join(entries)


def test_stitching_is_needed_without_the_marks() -> None:
    """Without the marking stage the exception line starts an entry of its own: the marks are what joins it."""
    source = alloy_config(stack_plan("dev")).replace(
        logging_stack._river(logging_stack.PYTHON_TRACEBACK_LINE), logging_stack._river("^(NEVER MATCHES)")
    )
    assert "ValueError: bad request" in stitch(TRACEBACK_LOG.splitlines(), source)


def test_patterns_are_re2() -> None:
    """Alloy uses Go's RE2: no lookaround, no backreferences."""
    for pattern in (logging_stack.PYTHON_TRACEBACK_LINE, logging_stack.FIRST_LINE):
        assert not re.search(r"\(\?[=!<]|\\[1-9]", pattern), pattern
