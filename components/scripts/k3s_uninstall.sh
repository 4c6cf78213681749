# `pulumi destroy` with k3s.uninstallOnDestroy: remove k3s and everything it stored on the host.
STEP=uninstall
if [ -x /usr/local/bin/k3s-uninstall.sh ]; then
  $SUDO /usr/local/bin/k3s-uninstall.sh
else
  echo "k3s is not installed: nothing to uninstall"
fi
