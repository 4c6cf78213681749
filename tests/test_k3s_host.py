"""K3sHost: the bootstrap in the plan (host first, verification last), and its scripts for real.

The plan tests run the whole program offline with ``k3s.host`` overrides. The script tests run
the very shell text the component deploys (``render_script``) with ``sh``, against stub ``k3s``,
``systemctl``, ``curl`` and ``nvidia-*`` commands on PATH, so idempotency, timeouts and messages
are checked without a host.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

import versions
from components.k3s_host import api_server_host, render_script
from config import ConfigError
from offline.plan import SECRET, Plan, Resource
from offline.runner import ROOT, run_program

HOST_COMMANDS = ("command:local:Command", "command:remote:Command")


def named(plan: Plan, name: str) -> Resource:
    return next(r for r in plan.resources if r.name == name)


def host_steps(plan: Plan) -> dict[str, Resource]:
    return {r.name.removeprefix("host-"): r for r in plan.resources if r.type in HOST_COMMANDS
            and r.name.startswith("host-")}


# ---------------------------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------------------------


def test_existing_cluster_gets_no_host_resources(dev_plan: Plan) -> None:
    assert host_steps(dev_plan) == {}
    assert not any(r.type.endswith(":K3sHost") for r in dev_plan.resources)
    assert named(dev_plan, "k8s").dependencies == []


@pytest.fixture(scope="module")
def local_plan() -> Plan:
    return run_program("dev", {"k3s.host": "local"})


def test_local_host_is_bootstrapped_in_order(local_plan: Plan) -> None:
    steps = host_steps(local_plan)
    assert set(steps) == {"install", "node-ready", "kubeconfig"}
    assert all(s.type == "command:local:Command" for s in steps.values())
    assert steps["install"].dependencies == []
    assert steps["node-ready"].dependencies == [steps["install"].urn]
    assert steps["kubeconfig"].dependencies == [steps["node-ready"].urn]
    install = steps["install"].inputs["create"]
    assert f"export K3S_VERSION={versions.K3S}" in install.replace("'", "")
    assert "traefik" in install
    assert "export K3S_SERVER=''" in steps["kubeconfig"].inputs["create"]  # local: keep 127.0.0.1
    assert steps["kubeconfig"].inputs["logging"] == "stderr"  # the kubeconfig is never logged


def test_host_comes_first_and_verification_last(local_plan: Plan) -> None:
    steps = host_steps(local_plan)
    kubeconfig = steps["kubeconfig"].urn
    assert kubeconfig in named(local_plan, "k8s").dependencies  # the provider is built from it
    cluster_objects = [r for r in local_plan.resources if r.type.startswith("kubernetes:")]
    assert cluster_objects
    late = [r.name for r in cluster_objects if not local_plan.depends_on(r.urn, kubeconfig)]
    assert late == [], f"deployed before the host is ready: {late}"
    first = {r.urn: r.type for r in local_plan.resources if r.urn in local_plan.waves[0]}
    assert steps["install"].urn in first
    assert all(t.startswith(("command:", "random:")) for t in first.values()), "only host steps and generated values"
    verification = named(local_plan, "verification-checks").urn
    assert verification in local_plan.waves[-1]
    assert local_plan.depends_on(verification, kubeconfig)


def test_destroy_leaves_the_host_alone_unless_opted_in(local_plan: Plan) -> None:
    assert "delete" not in host_steps(local_plan)["install"].inputs
    opted_in = run_program("dev", {"k3s.host": "local", "k3s.uninstallOnDestroy": "true"})
    assert "k3s-uninstall.sh" in host_steps(opted_in)["install"].inputs["delete"]


def test_gpu_host_over_ssh_configures_the_nvidia_runtime(tmp_path: Path) -> None:
    # the gpu stack plus the SSH key as a secure value, as `pulumi config set --secret` stores it
    stack = yaml.safe_load((ROOT / "Pulumi.gpu.yaml").read_text())
    stack["config"]["llm-tracing-infra:k3sSshPrivateKey"] = {"secure": "v1:c2VjcmV0"}
    (tmp_path / "Pulumi.gpu.yaml").write_text(yaml.safe_dump(stack))
    overrides = {"k3s.host": "gpu-box.lan", "k3s.user": "ubuntu", "k3s.port": "2222"}
    plan = run_program("gpu", overrides, program=ROOT / "__main__.py", root=tmp_path)
    steps = host_steps(plan)
    assert set(steps) == {"install", "nvidia-runtime", "node-ready", "gpu-node-label", "kubeconfig", "gpu-capacity"}
    assert all(s.type == "command:remote:Command" for s in steps.values())
    assert all(s.inputs["connection"] == SECRET for s in steps.values())  # it carries the SSH key
    assert steps["nvidia-runtime"].dependencies == [steps["install"].urn]
    assert steps["node-ready"].dependencies == [steps["nvidia-runtime"].urn]
    assert steps["gpu-capacity"].dependencies == [steps["node-ready"].urn]
    # the node carries gpu.nodeLabel before the provider exists: the device plugin is placed by it
    assert steps["gpu-node-label"].dependencies == [steps["node-ready"].urn]
    assert steps["kubeconfig"].dependencies == [steps["gpu-node-label"].urn]
    assert "export K3S_GPU_NODE_LABEL=nvidia.com/gpu.present" in steps["gpu-node-label"].inputs["create"]
    assert "export K3S_SERVER=gpu-box.lan" in steps["kubeconfig"].inputs["create"]
    assert "export K3S_TLS_SAN=gpu-box.lan" in steps["install"].inputs["create"]
    # the device plugin comes through the provider: waiting for GPUs before it would deadlock
    assert not plan.depends_on(named(plan, "k8s").urn, steps["gpu-capacity"].urn)
    assert plan.depends_on(named(plan, "verification-checks").urn, steps["gpu-capacity"].urn)


def test_ssh_agent_is_used_without_a_key() -> None:
    plan = run_program("dev", {"k3s.host": "box.lan"})
    connection = host_steps(plan)["install"].inputs["connection"]
    assert connection["host"] == "box.lan" and connection["user"] == "root" and "privateKey" not in connection


def test_a_new_k3s_version_reruns_every_step(local_plan: Plan) -> None:
    upgraded = host_steps(run_program("dev", {"k3s.host": "local", "k3s.version": "v1.34.9+k3s1"}))
    before = host_steps(local_plan)
    assert "v1.34.9+k3s1" in upgraded["install"].inputs["create"]
    for step in ("node-ready", "kubeconfig"):
        assert upgraded[step].inputs["triggers"] != before[step].inputs["triggers"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"k3s.host": "local", "kubernetes.context": "prod"}, "k3s.host=local installs the cluster"),
        ({"k3s.host": "local", "k3s.version": "latest"}, "k3s.version: a k3s release tag"),
        ({"k3s.host": "box", "k3s.port": "0"}, "k3s.port"),
    ],
)
def test_invalid_host_settings_are_refused_before_any_resource(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        run_program("dev", overrides)
    assert message in str(caught.value)
    assert caught.value.plan.resources == []  # type: ignore[attr-defined]


def test_ipv6_hosts_are_bracketed_in_the_server_url() -> None:
    assert api_server_host("fd00::5") == "[fd00::5]"
    assert api_server_host("10.0.0.5") == "10.0.0.5"


# ---------------------------------------------------------------------------------------------
# The scripts, run for real against stub commands
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def stubs(tmp_path: Path) -> Path:
    directory = tmp_path / "bin"
    directory.mkdir()
    # Non-root runs (CI) go through `sudo -n`: a pass-through sudo keeps them on the stubs.
    stub(directory, "sudo", '[ "$1" = -n ] && shift; exec "$@"')
    return directory


def stub(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def run_script(stubs: Path, script: str, inputs: dict[str, str | int], **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}", **env}
    return subprocess.run(["sh", "-c", render_script(script, inputs)], env=environment, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def installer_log(stubs: Path, tmp_path: Path) -> Path:
    """curl "downloads" an installer that records its version and arguments, as the real one installs."""
    log = tmp_path / "installer.log"
    stub(stubs, "curl", f"""out=""; url=""
while [ $# -gt 0 ]; do case "$1" in -o) out="$2"; shift 2;; -*) shift;; *) url="$1"; shift;; esac; done
echo "$url" >> {tmp_path}/urls.log
printf '%s\\n' 'echo "$INSTALL_K3S_VERSION $*" >> {log}' > "$out\"""")
    stub(stubs, "systemctl", "exit 0")
    return log


def test_install_is_idempotent(stubs: Path, installer_log: Path, tmp_path: Path) -> None:
    config_dir = tmp_path / "k3s-config"
    inputs: dict[str, str | int] = {"K3S_VERSION": "v1.35.8+k3s1", "K3S_TLS_SAN": ""}
    first = run_script(stubs, "k3s_install.sh", inputs, K3S_CONFIG_DIR=str(config_dir))
    assert first.returncode == 0, first.stderr
    assert installer_log.read_text().splitlines() == ["v1.35.8+k3s1 server"]
    assert "v1.35.8%2Bk3s1/install.sh" in (tmp_path / "urls.log").read_text()  # the installer of that tag
    assert "- traefik" in (config_dir / "50-llm-tracing-infra.yaml").read_text()

    stub(stubs, "k3s", 'echo "k3s version v1.35.8+k3s1 (0123abcd)"')  # now installed
    again = run_script(stubs, "k3s_install.sh", inputs, K3S_CONFIG_DIR=str(config_dir))
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stdout
    assert len(installer_log.read_text().splitlines()) == 1

    upgrade = run_script(stubs, "k3s_install.sh", {**inputs, "K3S_VERSION": "v1.35.9+k3s1"},
                         K3S_CONFIG_DIR=str(config_dir))
    assert upgrade.returncode == 0, upgrade.stderr
    assert installer_log.read_text().splitlines()[-1] == "v1.35.9+k3s1 server"


def test_install_reconfigures_when_the_settings_change(stubs: Path, installer_log: Path, tmp_path: Path) -> None:
    config_dir = tmp_path / "k3s-config"
    stub(stubs, "k3s", 'echo "k3s version v1.35.8+k3s1 (0123abcd)"')
    inputs: dict[str, str | int] = {"K3S_VERSION": "v1.35.8+k3s1", "K3S_TLS_SAN": "gpu-box.lan"}
    result = run_script(stubs, "k3s_install.sh", inputs, K3S_CONFIG_DIR=str(config_dir))
    assert result.returncode == 0, result.stderr
    assert '- "gpu-box.lan"' in (config_dir / "50-llm-tracing-infra.yaml").read_text()
    assert installer_log.read_text().splitlines() == ["v1.35.8+k3s1 server"]


def test_install_failure_is_reported(stubs: Path, tmp_path: Path) -> None:
    stub(stubs, "curl", "exit 22")
    stub(stubs, "systemctl", "exit 3")
    result = run_script(stubs, "k3s_install.sh", {"K3S_VERSION": "v1.35.8+k3s1", "K3S_TLS_SAN": ""},
                        K3S_CONFIG_DIR=str(tmp_path / "cfg"))
    assert result.returncode == 1
    assert "k3s host (install): cannot download the k3s installer of v1.35.8+k3s1" in result.stderr


NODES = 'case "$*" in *"kubectl get nodes"*) printf "{out}";; *) exit 1;; esac'


@pytest.mark.parametrize(
    ("nodes", "ok", "message"),
    [
        ("node1=True\\nnode2=True\\n", True, "nodes Ready: node1=True node2=True"),
        ("node1=True\\nnode2=False\\n", False, "nodes not Ready after 1s (last: node1=True"),
        ("", False, "no node registered"),
    ],
)
def test_wait_for_ready_nodes(stubs: Path, nodes: str, ok: bool, message: str) -> None:
    stub(stubs, "k3s", NODES.format(out=nodes))
    result = run_script(stubs, "k3s_wait_ready.sh", {"K3S_TIMEOUT_SECONDS": 1}, K3S_POLL_SECONDS="0.2")
    assert (result.returncode == 0) is ok
    assert message in (result.stdout if ok else result.stderr)


@pytest.mark.parametrize(("nodes", "ok"), [("gpu1=1\\n", True), ("gpu1=\\n", False), ("gpu1=0\\n", False)])
def test_wait_for_gpu_capacity(stubs: Path, nodes: str, ok: bool) -> None:
    stub(stubs, "k3s", NODES.format(out=nodes))
    result = run_script(stubs, "k3s_wait_gpu.sh", {"K3S_TIMEOUT_SECONDS": 1}, K3S_POLL_SECONDS="0.2")
    assert (result.returncode == 0) is ok
    if not ok:
        assert "no node has allocatable nvidia.com/gpu after 1s" in result.stderr


def test_gpu_node_label_script_labels_the_node(stubs: Path, tmp_path: Path) -> None:
    log = tmp_path / "k3s.log"
    stub(stubs, "k3s", f'echo "$*" >> {log}')
    result = run_script(stubs, "k3s_gpu_node_label.sh", {"K3S_GPU_NODE_LABEL": "nvidia.com/gpu.present"})
    assert result.returncode == 0, result.stderr
    assert log.read_text() == "kubectl label nodes --all --overwrite nvidia.com/gpu.present=true\n"
    stub(stubs, "k3s", "exit 1")
    failed = run_script(stubs, "k3s_gpu_node_label.sh", {"K3S_GPU_NODE_LABEL": "nvidia.com/gpu.present"})
    assert failed.returncode != 0 and "cannot label the node nvidia.com/gpu.present=true" in failed.stderr


def test_kubeconfig_is_pointed_at_the_ssh_host(stubs: Path, tmp_path: Path) -> None:
    source = tmp_path / "k3s.yaml"
    source.write_text("clusters:\n- cluster:\n    server: https://127.0.0.1:6443\n")
    remote = run_script(stubs, "k3s_kubeconfig.sh", {"K3S_SERVER": "gpu-box.lan"}, K3S_KUBECONFIG=str(source))
    assert "server: https://gpu-box.lan:6443" in remote.stdout
    local = run_script(stubs, "k3s_kubeconfig.sh", {"K3S_SERVER": ""}, K3S_KUBECONFIG=str(source))
    assert "server: https://127.0.0.1:6443" in local.stdout
    source.write_text("")
    missing = run_script(stubs, "k3s_kubeconfig.sh", {"K3S_SERVER": ""}, K3S_KUBECONFIG=str(source))
    assert missing.returncode == 1 and "missing or empty" in missing.stderr


def test_nvidia_runtime_needs_a_driver(stubs: Path) -> None:
    stub(stubs, "nvidia-smi", "exit 9")
    result = run_script(stubs, "k3s_nvidia_runtime.sh", {})
    assert result.returncode == 1
    assert "no working NVIDIA driver" in result.stderr


def test_nvidia_runtime_restarts_k3s_only_when_missing(stubs: Path, tmp_path: Path) -> None:
    containerd = tmp_path / "config.toml"
    containerd.write_text("[plugins]\n")
    restarts = tmp_path / "restarts.log"
    stub(stubs, "nvidia-smi", "echo 'GPU 0: NVIDIA L4'")
    stub(stubs, "nvidia-container-runtime", "exit 0")
    # k3s regenerates containerd's config at start and adds the runtime it found
    stub(stubs, "systemctl", f"echo \"$*\" >> {restarts}; "
                             f"printf '%s\\n' 'BinaryName = \"/usr/bin/nvidia-container-runtime\"' >> {containerd}")
    first = run_script(stubs, "k3s_nvidia_runtime.sh", {}, K3S_CONTAINERD_CONFIG=str(containerd))
    assert first.returncode == 0, first.stderr
    assert restarts.read_text().splitlines() == ["restart k3s"]
    again = run_script(stubs, "k3s_nvidia_runtime.sh", {}, K3S_CONTAINERD_CONFIG=str(containerd))
    assert again.returncode == 0 and "nothing to do" in again.stdout
    assert restarts.read_text().splitlines() == ["restart k3s"]


def test_inputs_are_quoted_into_the_script() -> None:
    text = render_script("k3s_kubeconfig.sh", {"K3S_SERVER": "x; rm -rf /"})
    assert "export K3S_SERVER='x; rm -rf /'" in text


@pytest.mark.parametrize("retain", [True, False])
def test_provider_adopts_what_destroy_retained(retain: bool) -> None:
    # The second `up` after a destroy meets the retained namespaces and volumes: upsert them, or
    # (opted out of retention) keep pulumi-kubernetes' AlreadyExists guard.
    plan = run_program("dev", {"storage.retainOnDestroy": str(retain).lower()})
    assert named(plan, "k8s").inputs.get("upsertExistingObjects") == ("true" if retain else "false")
