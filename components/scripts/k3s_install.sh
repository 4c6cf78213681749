# Install k3s as a server at K3S_VERSION with traefik disabled (the Gateway API is the only way in).
#
# Idempotent: the settings live in a k3s config drop-in; when the binary is at K3S_VERSION, the
# drop-in is unchanged and k3s is running, nothing happens. Otherwise the installer of that exact
# release (install.sh at its tag, not the moving get.k3s.io) installs or upgrades and restarts k3s.
# Inputs: K3S_VERSION; K3S_TLS_SAN (the SSH host name, so the kubeconfig read back verifies);
# K3S_CONFIG_DIR (default /etc/rancher/k3s/config.yaml.d).
STEP=install
CONFIG_DIR=${K3S_CONFIG_DIR:-/etc/rancher/k3s/config.yaml.d}
CONFIG_FILE="$CONFIG_DIR/50-llm-tracing-infra.yaml"
desired=$(mktemp)
installer=$(mktemp)
trap 'rm -f "$desired" "$installer"' EXIT

{
  echo "# Managed by llm-tracing-infra (stack config k3s.*); local edits are overwritten."
  echo "disable:"
  echo "  - traefik"
  if [ -n "${K3S_TLS_SAN:-}" ]; then
    echo "tls-san:"
    echo "  - \"$K3S_TLS_SAN\""
  fi
} >"$desired"

installed=""
if command -v k3s >/dev/null 2>&1; then
  installed=$(k3s --version 2>/dev/null | awk 'NR == 1 { print $3 }')
fi
if [ "$installed" = "$K3S_VERSION" ] && $SUDO cmp -s "$desired" "$CONFIG_FILE" \
  && $SUDO systemctl is-active --quiet k3s; then
  echo "k3s $K3S_VERSION is installed, configured and running: nothing to do"
  exit 0
fi

$SUDO mkdir -p "$CONFIG_DIR"
$SUDO cp "$desired" "$CONFIG_FILE"
tag=$(printf '%s' "$K3S_VERSION" | sed 's/+/%2B/')
curl -sfL "https://raw.githubusercontent.com/k3s-io/k3s/$tag/install.sh" -o "$installer" \
  || fail "cannot download the k3s installer of $K3S_VERSION (is GitHub reachable from this host?)"
# A changed drop-in needs a restart even when the binary is already at the right version.
$SUDO env INSTALL_K3S_VERSION="$K3S_VERSION" INSTALL_K3S_FORCE_RESTART=true sh "$installer" server \
  || fail "the k3s installer failed; see its output above and 'journalctl -u k3s'"
echo "k3s $K3S_VERSION installed (before: ${installed:-not installed})"
