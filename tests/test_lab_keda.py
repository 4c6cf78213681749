"""The lab's KEDA operator: run as the deployed Deployment says, on loopback, as the chart's ServiceAccount."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from lab import keda
from tools import build_keda

DEPLOYMENT: dict[str, Any] = {
    "metadata": {"namespace": "keda", "name": "keda-operator"},
    "spec": {"template": {"spec": {"serviceAccountName": "keda-operator", "containers": [{
        "args": ["--leader-elect", "--zap-log-level=info", "--cert-dir=/certs", "--enable-cert-rotation=true",
                 "--metrics-bind-address=:8080", "--k8s-cluster-domain=cluster.local"],
        "env": [
            {"name": "WATCH_NAMESPACE"},  # value "" as the API server returns it: no value
            {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "KEDA_HTTP_DEFAULT_TIMEOUT", "value": "3000"},
        ],
    }]}}},
}  # fmt: skip


def test_the_chart_args_are_kept_and_every_listener_is_on_loopback(tmp_path: Path) -> None:
    args = keda.command_line(DEPLOYMENT, tmp_path, 4001, 4002)
    assert args[:2] == ["--leader-elect", "--zap-log-level=info"] and "--k8s-cluster-domain=cluster.local" in args
    assert "--cert-dir=/certs" not in args and "--metrics-bind-address=:8080" not in args
    assert f"--cert-dir={tmp_path}" in args and "--enable-cert-rotation=false" in args
    listeners = [a.split("=", 1)[1] for a in args if a.split("=", 1)[0].endswith("-address")]
    assert listeners == ["0", "127.0.0.1:4001", "127.0.0.1:4002"]


def test_the_env_resolves_the_downward_api_and_refuses_what_it_cannot() -> None:
    env = keda.environment(DEPLOYMENT)
    assert env == {"WATCH_NAMESPACE": "", "POD_NAMESPACE": "keda", "KEDA_HTTP_DEFAULT_TIMEOUT": "3000",
                   "KEDA_CLUSTER_OBJECT_NAMESPACE": "keda"}  # fmt: skip
    secret = {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}
    broken = yaml.safe_load(yaml.safe_dump(DEPLOYMENT))
    broken["spec"]["template"]["spec"]["containers"][0]["env"].append(secret)
    with pytest.raises(keda.OperatorError, match="TOKEN"):
        keda.environment(broken)


def test_the_operator_acts_as_the_charts_service_account(tmp_path: Path) -> None:
    admin = {"users": [{"name": "admin", "user": {"client-certificate": "a.crt"}}], "clusters": []}
    (tmp_path / "admin").write_text(yaml.safe_dump(admin))
    out = keda.impersonating_kubeconfig(tmp_path / "admin", "keda", "keda-operator", tmp_path / "sa")
    user = yaml.safe_load(out.read_text())["users"][0]["user"]
    assert user["as"] == "system:serviceaccount:keda:keda-operator"
    assert "system:serviceaccounts:keda" in user["as-groups"] and user["client-certificate"] == "a.crt"


def test_one_operator_deployment_or_an_error() -> None:
    class Done:
        returncode, stdout, stderr = 0, '{"items": []}', ""

    with pytest.raises(keda.OperatorError, match="found 0"):
        keda.operator_deployment(lambda *a: Done(), "keda")  # type: ignore[arg-type]


def test_the_wrapper_module_repeats_kedas_replacements() -> None:
    go_mod = (
        "module github.com/kedacore/keda/v2\n\ngo 1.26.0\n\nreplace (\n"
        "\t// pinned\n\tk8s.io/api => k8s.io/api v0.35.5\n)\n\n"
        "replace github.com/google/cel-go => github.com/google/cel-go v0.26.0\n\nrequire x v1\n"
    )
    wrapper = build_keda.wrapper_go_mod(go_mod, "v2.20.2")
    assert "go 1.26.0" in wrapper and "require github.com/kedacore/keda/v2 v2.20.2" in wrapper
    assert build_keda.replaces(go_mod) == [
        "k8s.io/api => k8s.io/api v0.35.5",
        "github.com/google/cel-go => github.com/google/cel-go v0.26.0",
    ]


def test_the_operator_is_the_charts_release() -> None:
    import tarfile

    from lab.runner import SHARED
    from versions import CHARTS

    chart = SHARED / "charts" / f"keda-{CHARTS['keda'].version}.tgz"
    if not chart.exists():
        pytest.skip(f"the chart mirror is not beside this checkout ({chart})")
    with tarfile.open(chart) as archive:
        meta = yaml.safe_load(archive.extractfile("keda/Chart.yaml").read())  # type: ignore[union-attr]
    assert f"v{meta['appVersion']}" == build_keda.KEDA
