# `scripts/cluster.sh status`: each daemon's state, and the nodes when the
# apiserver runs.
# shellcheck shell=bash

cmd_status() {
  local d any=0
  for d in registry registry-proxy etcd kube-apiserver kube-controller-manager kube-scheduler \
    containerd-node-1 kubelet-node-1 kube-proxy-node-1 containerd-node-2 kubelet-node-2 kube-proxy-node-2; do
    if alive "$d"; then echo "$d: running (pid $(cut -d' ' -f1 "$PIDS/$d.pid"))"; any=1
    elif [[ -f "$PIDS/$d.pid" ]]; then echo "$d: dead (see $LOGS/$d.log)"; fi
  done
  ((any)) || { echo "cluster: down"; return 3; }
  if alive kube-apiserver; then kctl get nodes -o wide; fi
}
