# Wait until a node advertises allocatable nvidia.com/gpu. The NVIDIA device plugin, which the
# program deploys on the new cluster, publishes it; this step runs alongside that deployment.
# Inputs: K3S_TIMEOUT_SECONDS, K3S_POLL_SECONDS (default 5).
STEP=gpu-capacity
start=$(date +%s)
while :; do
  gpus=$($SUDO k3s kubectl get nodes \
    -o jsonpath='{range .items[*]}{.metadata.name}={.status.allocatable.nvidia\.com/gpu}{"\n"}{end}' \
    2>/dev/null || true)
  if printf '%s\n' "$gpus" | grep -q '=[1-9][0-9]*$'; then
    echo "nvidia.com/gpu allocatable: $(printf '%s' "$gpus" | tr '\n' ' ')"
    exit 0
  fi
  if [ $(($(date +%s) - start)) -ge "$K3S_TIMEOUT_SECONDS" ]; then
    fail "no node has allocatable nvidia.com/gpu after ${K3S_TIMEOUT_SECONDS}s (is the nvidia-device-plugin \
pod running with runtimeClassName nvidia? 'k3s kubectl -n kube-system get pods')"
  fi
  sleep "${K3S_POLL_SECONDS:-5}"
done
