# The part of scripts/cluster.sh every other library in scripts/lib/cluster
# uses: the cluster's constants (paths under BUILD_DIR, addresses, names;
# ROOT is set by scripts/cluster.sh before it sources this), log/warn/die,
# the per-node helpers, and the daemons: one pid file each ("PID EXE"),
# started with setsid, stopped by that PID only, waited for with wait_for.
# shellcheck shell=bash

# Most of these are read only by the other libraries (SC2034: unused here).
# shellcheck disable=SC2034
{
  BUILD_DIR=${BUILD_DIR:-build}
  [[ "$BUILD_DIR" = /* ]] || BUILD_DIR="$ROOT/$BUILD_DIR"
  STATE="$BUILD_DIR/cluster"
  RUN=/run/cwasi-cluster
  PKI="$STATE/pki" PIDS="$STATE/pids" LOGS="$STATE/logs" BEFORE="$STATE/before" KCFG="$STATE/kubeconfig"
  HELPERS="$ROOT/scripts/cluster"

  VERSION=$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" {print $3}' "$ROOT/k8s/go.mod")
  KBIN="${CWASI_CACHE_DIR:-$HOME/.cache/cwasi}/k8s/$VERSION/bin"
  SHIM="$BUILD_DIR/bin/containerd-shim-cwasi-v1"

  BRIDGE=cwasi0 NODE_PREFIX=24 NETNS2=cwasi-n2 VETH2=cwasi-n2h
  CNI_NET=cwasi-cluster CNI_BRIDGE=cwasi-cni0
  CLUSTER_CIDR=10.244.0.0/16 SERVICE_CIDR=10.96.0.0/16 KUBERNETES_SVC=10.96.0.1
  APISERVER_IP=10.200.0.1
  ETCD_CLIENT=127.0.0.1:12379 ETCD_PEER=127.0.0.1:12380  # not 2379: a packaged etcd may run
  REGISTRY=127.0.0.1:5000
  PAUSE_IMAGE=$REGISTRY/cwasi/pause:3.10
  CGROUP_PARENT=cwasi-cluster  # each kubelet's cgroupRoot is /cwasi-cluster/node-N
  # Host sysctls a node may change (ip_forward: here and the bridge plugin; the
  # kubelet's kernel tunables; conntrack limits): saved at up, restored at down.
  SYSCTL_RE='^(net\.ipv4\.ip_forward|net\.ipv4\.conf\.(all|default)\..*|net\.ipv6\.conf\.(all|default)\.(forwarding|disable_ipv6|accept_ra)|net\.bridge\..*|net\.netfilter\.nf_conntrack_(max|tcp_timeout_.*|udp_timeout.*|tcp_be_liberal)|net\.nf_conntrack_max|vm\.overcommit_memory|vm\.panic_on_oom|kernel\.panic|kernel\.panic_on_oops|kernel\.keys\.root_max(keys|bytes))$'
  # Host paths kubelet, containerd, CNI or `ip netns` create outside our state dirs.
  HOST_PATHS=(/var/lib/cni /var/lib/cni/results /var/lib/kubelet /var/lib/kubelet/device-plugins
    /var/log/containers /var/log/pods /run/netns /run/containerd /run/containerd/s /run/containerd/runc)
}

export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"

log() { printf '%s cluster: %s\n' "$(date +%T)" "$*"; }
warn() { printf '%s cluster: warning: %s\n' "$(date +%T)" "$*" >&2; }
die() { printf 'cluster: error: %s\n' "$*" >&2; exit 1; }
node_ip() { echo "10.200.0.$1"; }
node_dir() { echo "$STATE/node-$1"; }
node_run() { echo "$RUN/node-$1"; }
kctl() { "$KBIN/kubectl" --kubeconfig "$KCFG/admin.conf" "$@"; }
in_node() {  # N CMD...: run CMD in node N's network namespace (node 1: the host)
  local n=$1; shift
  if ((n == 1)); then "$@"; else nsenter --net="/run/netns/$NETNS2" "$@"; fi
}

# --- daemons: one pid file each ("PID EXE"), stopped by that PID only -------
alive() {  # NAME
  local f="$PIDS/$1.pid" pid exe
  [[ -f "$f" ]] || return 1
  read -r pid exe < "$f" || return 1
  [[ -n "$pid" && "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$exe" ]]
}
start_daemon() {  # NAME NODE(0 = host, else node number) EXE ARGS...
  local name=$1 node=$2 exe=$3; shift 3
  if alive "$name"; then log "$name already running (pid $(cut -d' ' -f1 "$PIDS/$name.pid"))"; return; fi
  exe=$(readlink -f "$(command -v "$exe")")
  local pre=()
  ((node > 1)) && pre=(nsenter "--net=/run/netns/$NETNS2")
  echo "=== $(date -Is) ${pre[*]} $exe $*" >> "$LOGS/$name.log"
  # setsid: the daemon outlives this script and make; not a group leader here, so it execs (same PID).
  setsid "${pre[@]}" "$exe" "$@" < /dev/null >> "$LOGS/$name.log" 2>&1 &
  local pid=$! i
  echo "$pid $exe" > "$PIDS/$name.pid"
  for ((i = 0; i < 50; i++)); do alive "$name" && break; sleep 0.05; done  # setsid/nsenter exec'd it
  log "started $name (pid $pid)"
}
stop_daemon() {  # NAME [SECONDS]
  local name=$1 t=${2:-10} pid exe i
  if alive "$name"; then
    read -r pid exe < "$PIDS/$name.pid"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < t * 10; i++)); do alive "$name" || break; sleep 0.1; done
    if alive "$name"; then log "$name (pid $pid) still running ${t}s after SIGTERM: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
    log "stopped $name (pid $pid)"
    STOPPED=1
  fi
  rm -f "$PIDS/$name.pid"
}
wait_for() {  # SECONDS WHAT LOGNAME CMD...: poll CMD until it succeeds
  local t=$1 what=$2 logname=$3 deadline; shift 3
  deadline=$((SECONDS + t))
  until "$@" > /dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      warn "$what not ready after ${t}s"
      [[ -n "$logname" && -f "$LOGS/$logname.log" ]] && tail -n 25 "$LOGS/$logname.log" >&2
      die "$what did not come up (logs: $LOGS/; clean up with: scripts/cluster.sh down)"
    fi
    if [[ -n "$logname" && -f "$PIDS/$logname.pid" ]] && ! alive "$logname"; then
      tail -n 25 "$LOGS/$logname.log" >&2
      die "$logname exited (log: $LOGS/$logname.log; clean up with: scripts/cluster.sh down)"
    fi
    sleep 0.2
  done
}
