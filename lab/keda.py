"""The real KEDA operator, run as a local process against the simulated API server.

kwok starts no containers, so the chart's operator Pod never reconciles anything and a
``ScaledObject`` would stay an inert object. The lab runs the operator binary of the chart's release
(``tools/build_keda.py``, from the Go module proxy) on this machine instead, configured as the
deployed Deployment says: its container's args and env, read back from the API server, with only
the listen addresses and the certificate directory moved to loopback and a scratch folder. It acts
as the chart's ServiceAccount (impersonated), so the chart's RBAC is what lets it work.

It runs from after ``up`` until after ``destroy``: KEDA puts a finalizer on each ScaledObject, and
only the operator removes it (and the HPA it made) when Pulumi deletes the ScaledObject.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from lab.checks import Kubectl

OPERATOR_LABEL = "app.kubernetes.io/name=keda-operator"
LOOPBACK = "127.0.0.1"
DROPPED_FLAGS = ("--metrics-bind-address", "--health-probe-bind-address", "--metrics-service-bind-address",
                 "--profiling-bind-address", "--cert-dir", "--enable-cert-rotation", "--enable-webhook-patching",
                 "--enable-apiservice-patching")  # fmt: skip
"""Flags the lab sets itself: listeners on loopback, certificates from a scratch folder; no cert rotation
(it would rewrite the webhook and APIService CA bundles the lab's webhook relaxer manages)."""


class OperatorError(RuntimeError):
    """The operator could not be configured or started; the message says why."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def operator_deployment(kubectl: Kubectl, namespace: str) -> dict[str, Any]:
    """The chart's operator Deployment in ``namespace`` (exactly one, or an error naming what was found)."""
    done = kubectl("get", "deployments", "-n", namespace, "-l", OPERATOR_LABEL, "-o", "json")
    if done.returncode != 0:
        raise OperatorError(f"cannot read the KEDA operator Deployment in {namespace}: {done.stderr.strip()[-300:]}")
    items = json.loads(done.stdout).get("items") or []
    if len(items) != 1:
        raise OperatorError(f"expected one Deployment labelled {OPERATOR_LABEL} in {namespace}, found {len(items)}")
    return dict(items[0])


def command_line(deployment: dict[str, Any], cert_dir: Path, probe_port: int, grpc_port: int) -> list[str]:
    """The deployed container's args, the lab's own listeners and cert dir in place of the chart's."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    kept = [a for a in container.get("args") or [] if not a.startswith(DROPPED_FLAGS)]
    return [
        *kept,
        "--metrics-bind-address=0",  # controller-runtime: "0" turns the metrics listener off
        f"--health-probe-bind-address={LOOPBACK}:{probe_port}",
        f"--metrics-service-bind-address={LOOPBACK}:{grpc_port}",
        f"--cert-dir={cert_dir}",
        "--enable-cert-rotation=false",
        "--enable-webhook-patching=false",
        "--enable-apiservice-patching=false",
    ]


def environment(deployment: dict[str, Any]) -> dict[str, str]:
    """The deployed container's env: plain values, and the Pod's name and namespace from the downward API."""
    namespace = deployment["metadata"]["namespace"]
    field_values = {"metadata.namespace": namespace, "metadata.name": f"{deployment['metadata']['name']}-lab"}
    # In a Pod KEDA reads its namespace from the ServiceAccount token mount, which a host process lacks.
    env: dict[str, str] = {"KEDA_CLUSTER_OBJECT_NAMESPACE": namespace}
    for item in deployment["spec"]["template"]["spec"]["containers"][0].get("env") or []:
        if "valueFrom" not in item:  # the API server drops an empty value: no value is ""
            env[item["name"]] = str(item.get("value", ""))
            continue
        path = ((item.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
        if path not in field_values:
            raise OperatorError(
                f"the operator's env {item['name']} comes from {item.get('valueFrom')}: the lab cannot resolve it"
            )
        env[item["name"]] = field_values[path]
    return env


def impersonating_kubeconfig(kubeconfig: Path, namespace: str, service_account: str, out: Path) -> Path:
    """A copy of the lab's admin kubeconfig that acts as ``system:serviceaccount:<namespace>:<service_account>``."""
    config = yaml.safe_load(kubeconfig.read_text())
    for user in config.get("users") or []:
        user["user"]["as"] = f"system:serviceaccount:{namespace}:{service_account}"
        user["user"]["as-groups"] = [
            "system:serviceaccounts",
            f"system:serviceaccounts:{namespace}",
            "system:authenticated",
        ]
    out.write_text(yaml.safe_dump(config))
    return out


def self_signed_certs(folder: Path) -> Path:
    """``tls.crt``/``tls.key``/``ca.crt`` for the operator's gRPC metrics service (nothing connects to it here)."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "1", "-subj", "/CN=keda-operator",
         "-keyout", str(folder / "tls.key"), "-out", str(folder / "tls.crt")],
        check=True, capture_output=True,
    )  # fmt: skip
    (folder / "ca.crt").write_bytes((folder / "tls.crt").read_bytes())
    return folder


class KedaOperator:
    """``with KedaOperator(...)``: the operator running for the stack's ScaledObjects; its log in ``workdir``."""

    def __init__(
        self,
        binary: Path,
        kubectl: Kubectl,
        kubeconfig: Path,
        namespace: str,
        workdir: Path,
        log: Callable[[str], None],
    ) -> None:
        self.binary, self.kubectl, self.kubeconfig = binary, kubectl, kubeconfig
        self.namespace, self.workdir, self.log = namespace, workdir / "keda-operator", log
        self.process: subprocess.Popen[bytes] | None = None
        self.logfile = self.workdir / "operator.log"
        self.service_account = ""

    def __enter__(self) -> KedaOperator:
        deployment = operator_deployment(self.kubectl, self.namespace)
        self.service_account = deployment["spec"]["template"]["spec"].get("serviceAccountName") or "default"
        self.workdir.mkdir(parents=True, exist_ok=True)
        kubeconfig = impersonating_kubeconfig(
            self.kubeconfig, self.namespace, self.service_account, self.workdir / "kubeconfig"
        )
        args = command_line(deployment, self_signed_certs(self.workdir / "certs"), _free_port(), _free_port())
        env = {**os.environ, **environment(deployment), "KUBECONFIG": str(kubeconfig)}
        with self.logfile.open("wb") as out:
            self.process = subprocess.Popen([str(self.binary), *args], stdout=out, stderr=subprocess.STDOUT, env=env)
        self.log(
            f"lab: KEDA operator {self.binary.parent.name} started as "
            f"{self.namespace}/{self.service_account} (log {self.logfile})"
        )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
