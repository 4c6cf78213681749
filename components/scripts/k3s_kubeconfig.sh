# Print k3s's admin kubeconfig, pointed at K3S_SERVER (the SSH host) instead of 127.0.0.1 when set.
# Inputs: K3S_SERVER (empty for a local install); K3S_KUBECONFIG (default /etc/rancher/k3s/k3s.yaml).
STEP=kubeconfig
KUBECONFIG_FILE=${K3S_KUBECONFIG:-/etc/rancher/k3s/k3s.yaml}
$SUDO test -s "$KUBECONFIG_FILE" || fail "$KUBECONFIG_FILE is missing or empty; is k3s installed and running?"
if [ -n "${K3S_SERVER:-}" ]; then
  $SUDO cat "$KUBECONFIG_FILE" | sed "s#https://127.0.0.1:6443#https://$K3S_SERVER:6443#"
else
  $SUDO cat "$KUBECONFIG_FILE"
fi
