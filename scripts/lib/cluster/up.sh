# `scripts/cluster.sh up`: the order in which the pieces come up, the check
# that they already are, and the summary printed at the end.
# shellcheck shell=bash

daemons_for() {  # NODES
  echo registry etcd kube-apiserver kube-controller-manager kube-scheduler
  (($1 >= 2)) && echo registry-proxy
  local n
  for ((n = 1; n <= $1; n++)); do echo "containerd-node-$n" "kubelet-node-$n" "kube-proxy-node-$n"; done
}
summary() {
  local nodes=$1
  echo
  kctl get nodes -o wide
  echo
  cat <<EOF
cluster: up ($nodes node(s), Kubernetes $VERSION; state in $STATE)
  . $STATE/env && kubectl get nodes       # KUBECONFIG and the cached kubectl on PATH
  runtime classes: runc (default), cwasi (handler cwasi -> containerd-shim-cwasi-v1, installed by the node agent)
  cwasi: kubectl get fn,wf -A; the operator and node agents run in namespace cwasi-system (deploy/)
  registry: http://$REGISTRY (push: scripts/cluster/push-image.py OCI_DIR_OR_TAR $REGISTRY/NAME:TAG)
  sandbox image: $PAUSE_IMAGE
  logs: $LOGS/    stop: make cluster-down (scripts/cluster.sh down)
EOF
}
cmd_up() {
  local nodes=${1:-1} n start=$SECONDS
  [[ "$nodes" == 1 || "$nodes" == 2 ]] || die "NODES must be 1 or 2 (got $nodes)"
  [[ $(id -u) -eq 0 ]] || die "must run as root (network, mounts, cgroups)"
  if [[ -f "$STATE/nodes" ]] && [[ "$(cat "$STATE/nodes")" != "$nodes" ]] && alive kube-apiserver; then
    die "the cluster is up with $(cat "$STATE/nodes") node(s): scripts/cluster.sh down first"
  fi
  local all=1 d
  for d in $(daemons_for "$nodes"); do alive "$d" || all=0; done
  if ((all)) && [[ -f "$STATE/up" ]]; then
    log "already up"
    cwasi_up
    summary "$nodes"
    return
  fi

  # An `up` killed half-way (a test's timeout, a session's end) may have left
  # daemons it started before it wrote their pid files: they go first.
  stop_strays
  "$ROOT/scripts/setup.sh" cluster
  [[ -x "$SHIM" ]] || die "$SHIM is missing: make build first"
  "$ROOT/scripts/k8s-build.sh" | grep --line-buffered -v -e "^$KBIN\$" -e ' cached$' || true
  for d in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
    [[ -x "$KBIN/$d" ]] || die "$KBIN/$d missing (scripts/k8s-build.sh failed?)"
  done
  local t0=$SECONDS
  if [[ ! -f "$BEFORE/complete" && -d "$LOGS" ]]; then  # a fresh cluster: keep the last one's logs aside
    rm -rf "$STATE/logs.previous"; mv "$LOGS" "$STATE/logs.previous"
  fi
  mkdir -p "$PIDS" "$LOGS" "$RUN"
  echo "$nodes" > "$STATE/nodes"
  rm -f "$STATE/up"
  snapshot_before
  make_pki
  net_up "$nodes"
  registry_up "$nodes"
  image cwasi/pause:3.10 "$HELPERS/pause.c" pause
  control_plane_up
  for ((n = 1; n <= nodes; n++)); do
    cgroups_up "$n"
    containerd_up "$n"
  done
  for ((n = 1; n <= nodes; n++)); do
    wait_for 30 "containerd of node-$n" "containerd-node-$n" \
      ctr --address "$(node_run "$n")/containerd.sock" version
    kubelet_up "$n"
    kube_proxy_up "$n"
  done
  for ((n = 1; n <= nodes; n++)); do cni_up "$n"; done
  routes_up "$nodes"
  for ((n = 1; n <= nodes; n++)); do
    wait_for 120 "node-$n Ready" "kubelet-node-$n" kctl wait --for=condition=Ready "node/node-$n" --timeout=2s
  done
  cwasi_up
  cat > "$STATE/env" <<EOF
# . $STATE/env   (scripts/cluster.sh up)
export KUBECONFIG="$KCFG/admin.conf"
export PATH="$KBIN:\$PATH"
EOF
  date -Is > "$STATE/up"
  log "node(s) Ready in $((SECONDS - t0)) s ($((SECONDS - start)) s with setup and build checks)"
  summary "$nodes"
}
