# Make k3s's containerd offer the NVIDIA runtime (RuntimeClass handler "nvidia").
#
# k3s detects nvidia-container-runtime when it starts and adds the runtime to the containerd
# config it generates; so: driver present, toolkit installed (from NVIDIA's apt repository when
# missing), and k3s restarted only while the runtime is not in that config yet.
# Inputs: K3S_CONTAINERD_CONFIG (default: k3s's generated config.toml).
STEP=nvidia-runtime
CONTAINERD_CONFIG=${K3S_CONTAINERD_CONFIG:-/var/lib/rancher/k3s/agent/etc/containerd/config.toml}

command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 \
  || fail "no working NVIDIA driver (nvidia-smi failed): install the driver, reboot, then re-run pulumi up"

if ! command -v nvidia-container-runtime >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 \
    || fail "nvidia-container-toolkit is missing and this host has no apt-get: install the toolkit, then re-run"
  echo "installing nvidia-container-toolkit from NVIDIA's apt repository"
  keyring=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg
  curl -fsSL https://nvidia.github.io/libnvidia-container/gpgkey | $SUDO gpg --batch --yes --dearmor -o "$keyring"
  curl -fsSL https://nvidia.github.io/libnvidia-container/stable/deb/nvidia-container-toolkit.list \
    | sed "s#deb https://#deb [signed-by=$keyring] https://#g" \
    | $SUDO tee /etc/apt/sources.list.d/nvidia-container-toolkit.list >/dev/null
  $SUDO apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nvidia-container-toolkit
fi

has_runtime() { $SUDO grep -q 'nvidia-container-runtime' "$CONTAINERD_CONFIG" 2>/dev/null; }
if has_runtime; then
  echo "k3s containerd already has the nvidia runtime: nothing to do"
  exit 0
fi
echo "restarting k3s so that it detects nvidia-container-runtime"
$SUDO systemctl restart k3s
waited=0
while [ "$waited" -lt 120 ]; do
  if has_runtime; then
    echo "k3s containerd now has the nvidia runtime"
    exit 0
  fi
  sleep 2
  waited=$((waited + 2))
done
fail "k3s did not add the nvidia runtime to $CONTAINERD_CONFIG after a restart; see 'journalctl -u k3s'"
