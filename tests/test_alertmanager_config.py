"""The Alertmanager configuration the plans carry passes ``amtool check-config`` (Debian's prometheus-alertmanager).

The configuration is taken from the plan (kube-prometheus-stack's ``alertmanager.config`` value,
which the operator turns into ``alertmanager.yaml``), not rebuilt here, so what is checked is what
would be deployed. amtool is ``tools.amtool``'s build at the deployed Alertmanager release when
present, else the one on PATH (Debian's 0.25 is older: it still checks the stacks' configurations,
but not the receivers that use newer fields). Outside CI a missing or too old amtool skips with the
reason; in CI it fails.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.checks.gateway import chart_name
from offline.plan import Plan
from offline.runner import ROOT, run_program
from tests.support import stack_plan
from tools import amtool

WEBHOOK_URL_FILE = (0, 26, 0)
"""The first Alertmanager whose webhook receiver takes ``url_file``."""


def require_amtool(minimum: tuple[int, ...] = ()) -> str:
    """amtool, at least ``minimum``; skip with the reason outside CI, fail in CI."""
    found = amtool.find()
    problem = "amtool is not installed" if found is None else ""
    if found and minimum and amtool.version_of(found) < minimum:
        problem = f"{found} is older than {'.'.join(map(str, minimum))}"
    if not problem and found:
        return found
    message = f"{problem} (python -m tools.amtool builds {amtool.ALERTMANAGER}, the deployed release)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must not skip this check")
    pytest.skip(message)


def alertmanager_yaml(plan: Plan) -> dict[str, Any]:
    charts = [c for c in plan.charts() if chart_name(c) == "kube-prometheus-stack"]
    assert len(charts) == 1, "one kube-prometheus-stack chart per plan"
    config = charts[0].inputs["values"]["alertmanager"]["config"]
    assert isinstance(config, dict) and config.get("route") and config.get("receivers")
    return config


def amtool_check(
    config: dict[str, Any], directory: Path, minimum: tuple[int, ...] = ()
) -> subprocess.CompletedProcess[str]:
    path = directory / "alertmanager.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    command = [require_amtool(minimum), "check-config", str(path)]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)


@pytest.mark.parametrize("stack", ["dev", "gpu"])
def test_stack_alertmanager_config_passes_amtool(stack: str, tmp_path: Path) -> None:
    result = amtool_check(alertmanager_yaml(stack_plan(stack)), tmp_path)
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("receiver", ["slack", "webhook"])
def test_each_receiver_kind_passes_amtool(receiver: str, tmp_path: Path) -> None:
    # the dev stack plus the receiver URL as a secure value, as `pulumi config set --secret` stores it
    stack = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text()) or {}
    stack.setdefault("config", {})["llm-tracing-infra:alertmanagerWebhookUrl"] = {"secure": "v1:dXJs"}
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(stack))
    overrides = {"monitoring.alertmanager.receiver": receiver}
    plan = run_program("dev", overrides, program=ROOT / "__main__.py", root=tmp_path)
    config = alertmanager_yaml(plan)
    assert f"{receiver}-dev" in {r["name"] for r in config["receivers"]}  # one receiver per environment
    result = amtool_check(config, tmp_path, WEBHOOK_URL_FILE if receiver == "webhook" else ())
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr


def test_amtool_refuses_a_route_to_an_undefined_receiver(tmp_path: Path) -> None:
    config = alertmanager_yaml(stack_plan("dev"))
    config["route"]["receiver"] = "nobody"
    result = amtool_check(config, tmp_path)
    assert result.returncode != 0, "the check must be able to fail"
    assert "nobody" in result.stdout + result.stderr
