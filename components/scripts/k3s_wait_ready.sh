# Wait until every node of the k3s cluster reports Ready (none registered yet counts as not ready).
# Inputs: K3S_TIMEOUT_SECONDS, K3S_POLL_SECONDS (default 3).
STEP=node-ready
start=$(date +%s)
while :; do
  status=$($SUDO k3s kubectl get nodes \
    -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' \
    2>/dev/null || true)
  if [ -n "$status" ] && ! printf '%s\n' "$status" | grep -qv '=True$'; then
    echo "nodes Ready: $(printf '%s' "$status" | tr '\n' ' ')"
    exit 0
  fi
  if [ $(($(date +%s) - start)) -ge "$K3S_TIMEOUT_SECONDS" ]; then
    fail "nodes not Ready after ${K3S_TIMEOUT_SECONDS}s (last: ${status:-no node registered}); see 'journalctl -u k3s'"
  fi
  sleep "${K3S_POLL_SECONDS:-3}"
done
