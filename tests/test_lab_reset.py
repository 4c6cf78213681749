"""The reset between lab stacks, on a fake kubectl (the lab runs it for real on the simulated cluster)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from lab import gpu_pool, reset
from lab.runner import lab_settings
from lab.session import cluster_shape, cycle_stack
from tests.test_lab_gpu_pool import FakeNodes, cli_json, up_sh_nodes


def resource(kind: str, name: str, namespace: str = "", api: str = "v1", retain: bool = False) -> dict[str, Any]:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {
        "urn": f"urn:pulumi:dev::p::kubernetes:x:{kind}::{name}",
        "custom": True,
        "type": f"kubernetes:core/v1:{kind}",
        "outputs": {"apiVersion": api, "kind": kind, "metadata": metadata},
        **({"retainOnDelete": True} if retain else {}),
    }


EXPORT = {
    "deployment": {
        "resources": [
            {"urn": "urn:provider", "custom": True, "type": "pulumi:providers:kubernetes"},
            {"urn": "urn:chart", "custom": False, "type": "kubernetes:helm.sh/v4:Chart"},
            resource("Namespace", "langfuse", retain=True),
            resource("Namespace", "gateway"),
            resource("Secret", "langfuse-salt", "langfuse", retain=True),
            resource("Deployment", "litellm", "llm", api="apps/v1"),
            resource("ClusterRole", "kps-operator", api="rbac.authorization.k8s.io/v1"),
        ]
    }
}


class FakeCluster:
    """``kubectl get/delete`` over a dict of resource argument -> items; unknown kinds are gone."""

    def __init__(self, objects: dict[str, list[tuple[str, str]]]) -> None:
        self.objects = objects
        self.deleted: list[tuple[str, ...]] = []

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        if args[0] == "delete":
            self.deleted.append(args[1:3] if args[1] != "namespace" else tuple(a for a in args[1:] if "--" not in a))
            if args[1] == "namespace":
                names = {a for a in args[2:] if not a.startswith("--")}
                for key in ("namespaces", "Namespace"):
                    self.objects[key] = [o for o in self.objects[key] if o[1] not in names]
                for key, items in self.objects.items():
                    self.objects[key] = [o for o in items if o[0] not in names]
            return subprocess.CompletedProcess(args, 0, "", "")
        kind = args[1]
        if kind not in self.objects:
            return subprocess.CompletedProcess(args, 1, "", f'error: the server doesn\'t have a resource type "{kind}"')
        listed = [{"metadata": {"namespace": ns, "name": name}} for ns, name in self.objects[kind]]
        return subprocess.CompletedProcess(args, 0, json.dumps({"items": listed}), "")


def test_stack_objects_reads_kind_name_namespace_and_retention() -> None:
    objects, unreadable = reset.stack_objects(EXPORT)
    assert not unreadable
    assert [o.label() for o in objects if o.retained] == ["Namespace/langfuse", "Secret/langfuse/langfuse-salt"]
    assert {o.resource for o in objects} == {
        "Namespace",
        "Secret",
        "Deployment.v1.apps",
        "ClusterRole.v1.rbac.authorization.k8s.io",
    }


def test_an_object_without_kind_or_name_is_unreadable_and_fails_the_check() -> None:
    export = {"deployment": {"resources": [{"urn": "u", "custom": True, "type": "kubernetes:core/v1:Secret"}]}}
    objects, unreadable = reset.stack_objects(export)
    assert objects == [] and unreadable == ["u"]
    result = reset.only_retained_left(FakeCluster({"namespaces": []}), objects, unreadable)
    assert not result["ok"]


def destroyed_cluster() -> FakeCluster:
    return FakeCluster(
        {
            "namespaces": [("", "default"), ("", "kube-system"), ("", "langfuse")],
            "Namespace": [("", "default"), ("", "kube-system"), ("", "langfuse")],
            "Secret": [("langfuse", "langfuse-salt")],
            "Deployment.v1.apps": [],
            "ClusterRole.v1.rbac.authorization.k8s.io": [("", "system:basic-user")],
            "pvc": [("langfuse", "data-postgres-0")],
            "pv": [],
        }
    )


def test_only_retained_objects_may_survive_destroy() -> None:
    objects, unreadable = reset.stack_objects(EXPORT)
    cluster = destroyed_cluster()
    result = reset.only_retained_left(cluster, objects, unreadable)
    assert result["ok"], result
    cluster.objects["Deployment.v1.apps"] = [("llm", "litellm")]
    result = reset.only_retained_left(cluster, objects, unreadable)
    assert not result["ok"] and "Deployment/llm/litellm" in result["message"]


def test_a_namespace_the_stack_did_not_retain_is_a_leftover() -> None:
    objects, unreadable = reset.stack_objects(EXPORT)
    cluster = destroyed_cluster()
    cluster.objects["namespaces"].append(("", "llm"))
    result = reset.only_retained_left(cluster, objects, unreadable)
    assert not result["ok"] and "llm" in result["message"]


def test_a_kind_that_cannot_be_listed_fails_closed() -> None:
    objects, unreadable = reset.stack_objects(EXPORT)
    cluster = destroyed_cluster()

    def broken(*args: str) -> subprocess.CompletedProcess[str]:
        if args[:2] == ("get", "Secret"):
            return subprocess.CompletedProcess(args, 1, "", "Unable to connect to the server")
        return cluster(*args)

    result = reset.only_retained_left(broken, objects, unreadable)
    assert not result["ok"] and "could not list" in result["message"]


def test_cleaning_deletes_retained_namespaces_and_then_the_cluster_is_clean() -> None:
    objects, _ = reset.stack_objects(EXPORT)
    cluster = destroyed_cluster()
    assert not reset.cluster_clean(cluster, objects)["ok"]
    deleted = reset.clean_retained(cluster, objects)
    assert deleted == ["Namespace/langfuse (with its claims and retained Secrets)"]
    assert ("namespace", "langfuse") in cluster.deleted
    result = reset.cluster_clean(cluster, objects)
    assert result["ok"], result


def test_the_cycle_runs_on_gpu_when_it_is_in_the_run() -> None:
    assert cycle_stack(["dev", "gpu"], "auto") == "gpu"
    assert cycle_stack(["dev"], "auto") == "dev"
    assert cycle_stack(["dev", "gpu"], "dev") == "dev"
    assert cycle_stack(["dev", "gpu"], "none") is None


def test_auto_never_cycles_the_cluster_stack() -> None:
    assert cycle_stack(["dev", "gpu", "cluster"], "auto") == "gpu"
    assert cycle_stack(["cluster", "dev"], "auto") == "dev"
    assert cycle_stack(["cluster"], "auto") is None
    assert cycle_stack(["cluster"], "cluster") == "cluster", "asked for by name, it runs"


def test_a_run_with_cluster_gets_three_cpu_and_two_gpu_nodes() -> None:
    assert cluster_shape(["dev", "gpu"], {}) == {}
    assert cluster_shape(["dev", "cluster"], {}) == {"K8S_SIM_CPU_NODES": "3", "K8S_SIM_GPU_NODES": "2"}
    assert cluster_shape(["cluster"], {"K8S_SIM_CPU_NODES": "4"}) == {
        "K8S_SIM_CPU_NODES": "4",
        "K8S_SIM_GPU_NODES": "2",
    }


class FakeLab:
    """The parts of ``lab.runner.Lab`` a session drives, with every pulumi phase succeeding."""

    def __init__(self, stack: str, workdir: Any, log: Any, env: Any, parallel: Any, started_cluster: bool) -> None:
        from lab.runner import Report

        self.stack = stack
        self.started_cluster = started_cluster
        self.report = Report(stack)
        self.calls: list[str] = []
        self.cluster = destroyed_cluster()
        self.nodes = FakeNodes(up_sh_nodes())
        self.project = workdir
        self.workdir = workdir
        self.env = {**(env or {}), "KUBECONFIG": "kubeconfig"}

    def prepare_project(self) -> None:
        self.calls.append("prepare")

    def stack_config(self) -> Any:
        return gpu_pool.stack_config(cli_json(self.stack, lab_settings(self.stack)))

    def phase(self, name: str, *args: str, events: Any = None) -> bool:
        from lab.runner import Phase

        self.calls.append(name)
        self.report.phases.append(Phase(name, 1.0, True))
        return True

    def mistake(self, mistake: Any) -> None:
        self.calls.append(mistake.name)
        self.report.checks.append({"name": mistake.name, "ok": True, "message": "refused"})

    def kubectl(self, *args: str) -> subprocess.CompletedProcess[str]:
        if args[:2] == ("get", "nodes") or args[0] in ("label", "taint"):
            return self.nodes(*args)
        return self.cluster(*args)

    def export(self) -> dict[str, Any]:
        return EXPORT

    def count_resources(self) -> int:
        return 5


class FakeClusterProcess:
    def __init__(self, env: Any, log: Any) -> None:
        self.started = False

    def start(self) -> None:
        self.started = True

    def stop(self) -> dict[str, Any]:
        return {"name": "processes-stopped", "ok": True, "message": "stopped"}


def test_a_session_runs_every_stack_on_one_cluster_with_the_cycle_on_gpu(monkeypatch: Any, tmp_path: Any) -> None:
    from lab import session

    labs: list[FakeLab] = []

    def make_lab(*args: Any, **kwargs: Any) -> FakeLab:
        labs.append(FakeLab(*args, **kwargs))
        return labs[-1]

    monkeypatch.setattr(session, "Lab", make_lab)
    monkeypatch.setattr(session, "Cluster", FakeClusterProcess)
    monkeypatch.setattr(session, "pulumi_env", lambda env, workdir, log: None)
    monkeypatch.setattr(
        session, "after_up", lambda get, gpu, events=None: [{"name": "up-checks", "ok": True, "message": ""}]
    )
    monkeypatch.setattr(session, "corpus", lambda env, workdir, log: {"ok": True, "blocked": 1})
    monkeypatch.setattr(
        session, "after_destroy", lambda get, before: [{"name": "destroyed", "ok": True, "message": ""}]
    )
    monkeypatch.setattr(session, "rebound", lambda get, before: {"name": "rebound", "ok": True, "message": ""})
    monkeypatch.setattr(session, "claims", lambda get: {"langfuse/data": "uid-1"})
    run = session.Session(["dev", "gpu"], workdir=tmp_path / "lab", log=lambda *a: None)
    run.run()
    dev, gpu = labs
    # the CRD-order mistake before any up (beside the corpus); the while-up mistakes beside the no-change preview
    assert dev.calls[:4] == ["prepare", "preview-policy", "caught-custom-resource-before-its-crd", "up"]
    assert sorted(dev.calls[4:7]) == ["caught-chart-ingress", "caught-invalid-route-path", "preview-no-changes"]
    assert dev.calls[7:] == ["destroy"]
    assert gpu.calls == [
        "prepare",
        "preview-policy",
        "up",
        "preview-no-changes",
        "destroy",
        "up-again",
        "destroy-again",
    ]
    assert dev.report.cleaned and not gpu.report.cleaned, "only a stack with another after it is cleaned"
    assert [c["name"] for c in dev.report.checks if c["name"].startswith("reset-")] == [
        "reset-only-retained-left",
        "reset-cluster-clean",
    ]
    report = run.to_json()
    assert report["ok"], report
    assert report["cycleStack"] == "gpu" and report["corpus"] == {"ok": True, "blocked": 1}
    assert {"toolchain", "cluster-up", "preview-policy-all-stacks", "stack-dev", "stack-gpu", "total"} <= set(
        report["seconds"]
    )


def custom(api: str, kind: str, name: str, namespace: str = "") -> dict[str, Any]:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    obj = {"apiVersion": api, "kind": kind, "metadata": metadata}
    return {"urn": f"urn:{kind}", "custom": True, "type": f"kubernetes:{api}:{kind}", "inputs": obj, "outputs": obj}


CLUSTER_EXPORT = {
    "deployment": {
        "resources": [
            *EXPORT["deployment"]["resources"],
            custom("keda.sh/v1alpha1", "ScaledObject", "vllm", "llm"),
            custom("karpenter.sh/v1", "NodePool", "gpu"),
        ]
    }
}


def test_a_cluster_stack_gets_its_pool_checks_its_mistake_and_no_cycle(monkeypatch: Any, tmp_path: Any) -> None:
    from lab import session

    labs: list[FakeLab] = []

    def make_lab(*args: Any, **kwargs: Any) -> FakeLab:
        labs.append(FakeLab(*args, **kwargs))
        labs[-1].export = lambda: CLUSTER_EXPORT  # type: ignore[method-assign]
        return labs[-1]

    seen: dict[str, Any] = {}

    def cluster_checks(get: Any, expected: Any) -> list[dict[str, Any]]:
        seen["pool"] = expected.pool
        seen["tainted"] = [n for n, o in labs[-1].nodes.nodes.items() if o["spec"].get("taints")]
        return [{"name": "gpu-pods-on-gpu-pool", "ok": True, "message": ""}]

    monkeypatch.setattr(session, "Lab", make_lab)
    monkeypatch.setattr(session, "Cluster", FakeClusterProcess)
    monkeypatch.setattr(session, "pulumi_env", lambda env, workdir, log: None)
    monkeypatch.setattr(session, "after_up", lambda get, gpu, events=None: [{"name": "up", "ok": True, "message": ""}])
    monkeypatch.setattr(session, "after_up_cluster", cluster_checks)
    monkeypatch.setattr(session, "wait_for_minimum", lambda get, timeout: (12.0, []))
    monkeypatch.setattr(session, "corpus", lambda env, workdir, log: {"ok": True})
    destroyed = [{"name": "destroyed", "ok": True, "message": ""}]
    monkeypatch.setattr(session, "after_destroy", lambda get, before: destroyed)
    monkeypatch.setattr(session, "claims", lambda get: {"langfuse/data": "uid-1"})
    https = [{"name": "port-80-only-redirects", "ok": True, "message": ""}]
    monkeypatch.setattr(session, "after_up_https", lambda get, export: https)

    class FakeOperator:
        """Records when the lab starts and stops KEDA's operator, relative to the pulumi phases."""

        service_account, logfile = "keda-operator", "operator.log"

        def __init__(self, binary: Any, kubectl: Any, kubeconfig: Any, namespace: str, workdir: Any, log: Any):
            seen["keda-namespace"] = namespace

        def __enter__(self) -> FakeOperator:
            labs[-1].calls.append("keda-start")
            return self

        def __exit__(self, *exc: object) -> None:
            labs[-1].calls.append("keda-stop")

        def alive(self) -> bool:
            return True

        def log_tail(self) -> str:
            return ""

    binary = tmp_path / "keda-operator"
    binary.write_text("")
    monkeypatch.setattr(session, "KedaOperator", FakeOperator)
    monkeypatch.setattr(session.build_keda, "cached_binary", lambda: binary)
    made = {"name": "keda-operator-made-hpas", "ok": True, "message": ""}
    monkeypatch.setattr(session, "keda_made_hpas", lambda sent, alive, log: lambda get: made)
    run = session.Session(["cluster"], workdir=tmp_path / "lab", log=lambda *a: None)
    assert run.env["K8S_SIM_GPU_NODES"] == "2" and run.cycle is None
    run.run()
    (lab,) = labs
    assert lab.calls[:4] == ["prepare", "preview-policy", "up", "keda-start"]
    assert sorted(lab.calls[4:6]) == ["caught-nodepool-invalid-operator", "preview-no-changes"]
    assert lab.calls[6:] == ["destroy", "keda-stop"]
    assert seen["keda-namespace"] == "keda"
    assert seen["tainted"] == ["kwok-gpu-0", "kwok-gpu-1"], "the pool's taint is on while the checks run"
    assert seen["pool"].node_labels["karpenter.sh/nodepool"] == "gpu", "Karpenter is on in the lab's cluster stack"
    assert not any(o["spec"].get("taints") for o in lab.nodes.nodes.values()), "taken off after the stack"
    assert not any("karpenter.sh/nodepool" in o["metadata"]["labels"] for o in lab.nodes.nodes.values())
    names = [c["name"] for c in lab.report.checks]
    assert names[0] == "gpu-pool-nodes" and names[-1] == "gpu-pool-nodes-restored", names
    assert {"keda-operator-started", "keda-operator-made-hpas", "port-80-only-redirects"} <= set(names), names
    assert {"gpu-pool-nodes", "wait-hpa-minimum"} <= {p.name for p in lab.report.phases}
    assert [i["name"] for i in lab.report.not_provable] == ["certificate-issued", "karpenter-launches-gpu-nodes"]
    assert run.to_json()["ok"], run.to_json()


def test_a_keda_operator_that_cannot_start_is_a_failed_check(monkeypatch: Any, tmp_path: Any) -> None:
    import contextlib

    from lab import session
    from lab.keda import OperatorError

    class Refused:
        def __init__(self, *args: Any) -> None:
            pass

        def __enter__(self) -> None:
            raise OperatorError("expected one Deployment labelled app.kubernetes.io/name=keda-operator, found 0")

        def __exit__(self, *exc: object) -> None:
            pass

    binary = tmp_path / "keda-operator"
    binary.write_text("")
    monkeypatch.setattr(session, "KedaOperator", Refused)
    monkeypatch.setattr(session.build_keda, "cached_binary", lambda: binary)
    lab = FakeLab("cluster", tmp_path, None, {}, None, started_cluster=True)
    run = session.Session(["cluster"], workdir=tmp_path / "lab", log=lambda *a: None)
    with contextlib.ExitStack() as running:
        assert run.start_keda(lab, lab.stack_config(), running) is None  # type: ignore[arg-type]
    (check,) = lab.report.checks
    assert check["name"] == "keda-operator-started" and not check["ok"] and "found 0" in check["message"]
    elsewhere = FakeLab("cluster", tmp_path, None, {}, None, started_cluster=False)  # a cluster of KUBECONFIG
    with contextlib.ExitStack() as running:
        assert run.start_keda(elsewhere, elsewhere.stack_config(), running) is None  # type: ignore[arg-type]
    assert elsewhere.report.checks == []
