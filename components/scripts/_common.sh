# Shared prelude of the k3s host scripts (components/k3s_host.py prepends it, after the inputs).
# Scripts run as `sh -c` locally or through SSH, so they are POSIX sh, and stop at the first error.
set -eu

fail() {
  echo "k3s host ($STEP): $*" >&2
  exit 1
}

# Root, or passwordless sudo: a password prompt would hang `pulumi up`.
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
else
  SUDO="sudo -n"
  $SUDO true 2>/dev/null || fail "user $(id -un) needs root or passwordless sudo on this host"
fi
