"""K3sHost: from a bare machine to a cluster the rest of the program deploys onto.

The runbook's first steps as ``pulumi-command`` resources, each a script in ``components/scripts``
run with ``sh`` on this machine (``k3s.host: local``) or over SSH: install k3s with traefik off,
give containerd the NVIDIA runtime on GPU stacks, wait for the node to be Ready, and read the
admin kubeconfig back as a secret, from which ``__main__`` builds the Kubernetes provider.

Scripts are idempotent, so a re-run changes nothing on a configured host, and a changed input
(a new ``k3s.version``) re-runs them. ``pulumi destroy`` forgets the host without touching it,
unless ``k3s.uninstallOnDestroy`` is set.
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

import pulumi
import pulumi_command as command
from pydantic import BaseModel, ConfigDict

from components._k8s import TOKEN_PREFIX
from config.sections import K3s

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def render_script(script: str, inputs: Mapping[str, str | int]) -> str:
    """The shell text one step runs: its inputs as exports, the shared prelude, then the script.

    Inputs are written into the text (not passed as environment) because SSH servers drop
    client environment variables unless configured with ``AcceptEnv``.
    """
    exports = "".join(f"export {key}={shlex.quote(str(value))}\n" for key, value in sorted(inputs.items()))
    return exports + (SCRIPTS / "_common.sh").read_text() + (SCRIPTS / script).read_text()


def digest(text: str) -> str:
    """Short content hash: a trigger that changes with a script without storing it twice."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def api_server_host(host: str) -> str:
    """The host as it goes into ``https://<host>:6443`` (IPv6 literals in brackets)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


class K3sHostArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    settings: K3s
    gpu: bool
    """Configure the NVIDIA container runtime and wait for GPU capacity (``gpu.enabled``)."""
    ssh_private_key: pulumi.Output[str] | None = None
    """The ``k3sSshPrivateKey`` secret; the SSH agent is used when None."""
    gpu_node_label: str = ""
    """On GPU stacks, the node gets ``<label>=true`` (``gpu.nodeLabel``): GPU daemons are placed by it."""


class K3sHost(pulumi.ComponentResource):
    kubeconfig: pulumi.Output[str]
    """Admin kubeconfig of the new cluster (secret), its server reachable from this machine."""
    ready: pulumi.Resource
    """The step after which the API server answers: everything on the cluster waits for it."""

    def __init__(self, name: str, args: K3sHostArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TOKEN_PREFIX}:k3s_host:K3sHost", name, None, opts)
        k3s = args.settings
        if not k3s.host:
            raise ValueError("K3sHost needs k3s.host ('local' or an SSH host)")
        self._name = name
        self._connection = None if k3s.is_local else command.remote.ConnectionArgs(
            host=k3s.host, user=k3s.user, port=k3s.port, host_key=k3s.host_key,
            private_key=args.ssh_private_key,
        )
        remote_host = None if k3s.is_local else k3s.host

        install_script = render_script(
            "k3s_install.sh", {"K3S_VERSION": k3s.version, "K3S_TLS_SAN": remote_host or ""}
        )
        install = self._step(
            "install", install_script,
            delete=render_script("k3s_uninstall.sh", {}) if k3s.uninstall_on_destroy else None,
        )
        # Later steps re-run whenever the installation changes (replaced through their triggers).
        changes: list[str] = [digest(install_script)]
        configured: pulumi.Resource = install
        if args.gpu:
            runtime_script = render_script("k3s_nvidia_runtime.sh", {})
            configured = self._step("nvidia-runtime", runtime_script, after=[install], triggers=changes)
            changes = [*changes, digest(runtime_script)]
        node_ready = self._step(
            "node-ready", render_script("k3s_wait_ready.sh", {"K3S_TIMEOUT_SECONDS": k3s.ready_timeout_seconds}),
            after=[configured], triggers=changes,
        )
        # The label before the provider exists: the device plugin is placed by it.
        labelled: pulumi.Resource = node_ready
        if args.gpu and args.gpu_node_label:
            labelled = self._step(
                "gpu-node-label", render_script("k3s_gpu_node_label.sh", {"K3S_GPU_NODE_LABEL": args.gpu_node_label}),
                after=[node_ready], triggers=changes,
            )
        kubeconfig = self._step(
            "kubeconfig", render_script("k3s_kubeconfig.sh", {"K3S_SERVER": api_server_host(remote_host or "")}),
            after=[labelled], triggers=changes, secret_stdout=True,
        )
        if args.gpu:
            # Not on the provider's path: the device plugin that publishes nvidia.com/gpu is deployed
            # through that provider, so this wait runs alongside it (Verification waits for it).
            self._step(
                "gpu-capacity", render_script("k3s_wait_gpu.sh", {"K3S_TIMEOUT_SECONDS": k3s.gpu_timeout_seconds}),
                after=[node_ready], triggers=changes,
            )

        self.kubeconfig = pulumi.Output.secret(kubeconfig.stdout)
        self.ready = kubeconfig
        self.register_outputs({"kubeconfig": self.kubeconfig})

    def _step(
        self,
        suffix: str,
        script: str,
        *,
        after: Sequence[pulumi.Resource] = (),
        triggers: Sequence[str] = (),
        delete: str | None = None,
        secret_stdout: bool = False,
    ) -> command.local.Command | command.remote.Command:
        """One script as a Command, here or over SSH; ``secret_stdout`` keeps stdout out of logs and state."""
        opts = pulumi.ResourceOptions(
            parent=self, depends_on=list(after), additional_secret_outputs=["stdout"] if secret_stdout else None
        )
        name = f"{self._name}-{suffix}"
        if self._connection is None:
            return command.local.Command(
                name, create=script, delete=delete, triggers=list(triggers) or None,
                logging=command.local.Logging.STDERR if secret_stdout else None, opts=opts,
            )
        return command.remote.Command(
            name, connection=self._connection, create=script, delete=delete, triggers=list(triggers) or None,
            logging=command.remote.Logging.STDERR if secret_stdout else None, opts=opts,
        )
