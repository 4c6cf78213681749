# Mark this host's node as a GPU node with the label the platform places GPU daemons by
# (gpu.nodeLabel=true, the label NVIDIA's GPU Feature Discovery sets on clusters that run it).
# k3s here is one server node, the machine with the GPU. Idempotent (--overwrite).
# Inputs: K3S_GPU_NODE_LABEL.
STEP=gpu-node-label
$SUDO k3s kubectl label nodes --all --overwrite "$K3S_GPU_NODE_LABEL=true" >/dev/null \
  || fail "cannot label the node $K3S_GPU_NODE_LABEL=true ('k3s kubectl get nodes --show-labels')"
echo "node labelled $K3S_GPU_NODE_LABEL=true"
