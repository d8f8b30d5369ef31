#!/usr/bin/env bash
# A real Kubernetes cluster on this machine, to run cwasi's containerd shim
# under CRI next to runc.
#
#   scripts/cluster.sh up [NODES]   NODES=1 (default) or 2; `make cluster [NODES=2]`
#   scripts/cluster.sh down         stops it and undoes every host change; `make cluster-down`
#   scripts/cluster.sh status
#   scripts/cluster.sh smoke        a native (runc) Deployment + Service: pod IP, ClusterIP,
#                                   logs, exec, and across nodes with NODES=2
#
# Kubernetes v1.34 (scripts/k8s-build.sh, cached in ~/.cache/cwasi/k8s), Debian's
# etcd, containerd (with runtime handlers runc and cwasi =
# build/bin/containerd-shim-cwasi-v1), CNI plugins and docker-registry on
# 127.0.0.1:5000, and cwasi itself (deploy/: CRDs, operator, node agent,
# RuntimeClass; their images built and pushed to that registry). Everything lives under build/cluster (certificates, configs,
# logs, pids, data) and /run/cwasi-cluster (sockets, runtime state); `up`
# records the host's prior state (iptables chains, sysctls, directories,
# netns) in build/cluster/before, `down` restores it. Certificates and the
# registry's storage survive `down` (a faster next `up`).
#
# Node 1 is the host itself, its address 10.200.0.1 on the empty bridge cwasi0.
# With NODES=2, node-2 (kubelet, containerd, kube-proxy) runs in the network
# namespace cwasi-n2 (10.200.0.2, a veth into cwasi0); pod CIDRs (the
# controller-manager's allocation) are routed between the two.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
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

# --- the host's state before `up` -------------------------------------------
iptables_chains() {  # prints "FAMILY TABLE CHAIN" for every chain
  local fam
  for fam in iptables ip6tables; do
    "$fam-save" 2>/dev/null | awk -v f="$fam" '/^\*/ {t = substr($0, 2)} /^:/ {print f, t, substr($1, 2)}'
  done
}
snapshot_before() {
  # Taken once: a failed `up` followed by another `up` keeps the first record until `down`.
  [[ -f "$BEFORE/complete" ]] && return
  rm -rf "$BEFORE"; mkdir -p "$BEFORE"
  local p
  for p in "${HOST_PATHS[@]}"; do [[ -e "$p" ]] && echo "$p"; done > "$BEFORE/paths"
  if mountpoint -q /run/netns 2>/dev/null; then echo /run/netns; fi > "$BEFORE/mountpoints"
  ip netns list 2>/dev/null | awk '{print $1}' > "$BEFORE/netns"
  ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' > "$BEFORE/links"
  iptables_chains > "$BEFORE/chains"
  iptables-save > "$BEFORE/iptables-save.v4" 2>/dev/null || true
  ip6tables-save > "$BEFORE/iptables-save.v6" 2>/dev/null || true
  sysctl -a 2>/dev/null | awk -F' = ' -v re="$SYSCTL_RE" '$1 ~ re' > "$BEFORE/sysctl"
  date -Is > "$BEFORE/complete"
  log "recorded the host's state in $BEFORE"
}
existed() { grep -qxF "$1" "$BEFORE/paths" 2>/dev/null; }

# --- certificates (openssl, ECDSA P-256) -----------------------------------
# A pair is kept only when it is whole and checked: the certificate carries
# the key's public key and verifies against its CA (a CA made anew invalidates
# what it signed). Anything else is made again, into temporary files renamed
# into place once checked: an `up` killed half-way never leaves a certificate
# that does not match its key (kube-proxy's did once, and every later `up`
# failed until the pki was deleted by hand).
pair_ok() {  # NAME [CA]: NAME.crt and NAME.key belong together (and to CA, when given)
  local crt="$PKI/$1.crt" key="$PKI/$1.key" ca=${2:-} pub
  [[ -s "$crt" && -s "$key" ]] || return 1
  pub=$(openssl pkey -in "$key" -pubout 2> /dev/null) || return 1
  [[ -n "$pub" && "$pub" == "$(openssl x509 -in "$crt" -noout -pubkey 2> /dev/null)" ]] || return 1
  [[ -z "$ca" ]] || openssl verify -CAfile "$PKI/$ca.crt" "$crt" > /dev/null 2>&1
}
install_pair() {  # NAME: moves the checked NAME.{key,crt}.tmp into place
  mv -f "$PKI/$1.key.tmp" "$PKI/$1.key"
  mv -f "$PKI/$1.crt.tmp" "$PKI/$1.crt"
}
cert() {  # NAME SUBJECT EXTENDED_KEY_USAGE [SUBJECT_ALT_NAMES] [CA]
  local name=$1 subj=$2 eku=$3 san=${4:-} ca=${5:-ca}
  pair_ok "$name" "$ca" && return
  local tmp="$PKI/$name"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp.key.tmp" 2> /dev/null
  {
    echo "basicConstraints = critical, CA:FALSE"
    echo "keyUsage = critical, digitalSignature, keyEncipherment"
    echo "extendedKeyUsage = $eku"
    echo "authorityKeyIdentifier = keyid"
    if [[ -n "$san" ]]; then echo "subjectAltName = $san"; fi
  } > "$tmp.ext"
  openssl req -new -key "$tmp.key.tmp" -subj "$subj" -out "$tmp.csr"
  openssl x509 -req -in "$tmp.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 3650 -sha256 -extfile "$tmp.ext" \
    -out "$tmp.crt.tmp" 2> /dev/null
  rm -f "$tmp.csr" "$tmp.ext"
  install_pair "$name"
  pair_ok "$name" "$ca" || die "the certificate made for $name does not match its key or CA ($PKI)"
}
ca() {  # NAME CN
  pair_ok "$1" "$1" && return
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/$1.key.tmp" 2> /dev/null
  printf '%s\n' '[req]' 'distinguished_name = dn' '[dn]' '[ext]' \
    'basicConstraints = critical, CA:TRUE' 'keyUsage = critical, keyCertSign, cRLSign, digitalSignature' \
    'subjectKeyIdentifier = hash' > "$PKI/$1.cnf"
  openssl req -x509 -new -key "$PKI/$1.key.tmp" -subj "/CN=$2" -days 3650 -sha256 \
    -config "$PKI/$1.cnf" -extensions ext -out "$PKI/$1.crt.tmp"
  rm -f "$PKI/$1.cnf"
  install_pair "$1"
  pair_ok "$1" "$1" || die "the CA made as $1 does not match its key ($PKI)"
}
make_pki() {
  mkdir -p "$PKI"; chmod 700 "$PKI"
  rm -f "$PKI"/*.tmp  # what an interrupted `up` was making
  local start=$SECONDS n
  ca ca cwasi-cluster-ca
  ca front-proxy-ca cwasi-cluster-front-proxy-ca
  cert apiserver /CN=kube-apiserver serverAuth \
    "IP:127.0.0.1, IP:$APISERVER_IP, IP:$KUBERNETES_SVC, DNS:localhost, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local"
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
  cert admin "/O=system:masters/CN=admin" clientAuth
  cert controller-manager /CN=system:kube-controller-manager clientAuth
  cert scheduler /CN=system:kube-scheduler clientAuth
  cert kube-proxy /CN=system:kube-proxy clientAuth
  cert front-proxy-client /CN=front-proxy-client clientAuth "" front-proxy-ca
  for n in 1 2; do
    cert "node-$n" "/O=system:nodes/CN=system:node:node-$n" clientAuth
    cert "node-$n-serving" "/CN=node-$n" serverAuth "IP:$(node_ip "$n"), DNS:node-$n"
  done
  # The service-account signing key and its public half, checked like the pairs.
  if [[ ! -s "$PKI/sa.key" || "$(openssl pkey -in "$PKI/sa.key" -pubout 2> /dev/null)" != "$(cat "$PKI/sa.pub" 2> /dev/null)" ]]; then
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/sa.key.tmp" 2> /dev/null
    openssl pkey -in "$PKI/sa.key.tmp" -pubout -out "$PKI/sa.pub.tmp"
    mv -f "$PKI/sa.key.tmp" "$PKI/sa.key"; mv -f "$PKI/sa.pub.tmp" "$PKI/sa.pub"
  fi
  log "certificates in $PKI ($((SECONDS - start)) s)"
}
kubeconfig() {  # FILE CERT_NAME
  cat > "$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: cwasi
  cluster:
    server: https://$APISERVER_IP:6443
    certificate-authority: $PKI/ca.crt
users:
- name: $2
  user:
    client-certificate: $PKI/$2.crt
    client-key: $PKI/$2.key
contexts:
- name: cwasi
  context: {cluster: cwasi, user: $2}
current-context: cwasi
EOF
}

# --- network -----------------------------------------------------------------
net_up() {  # NODES
  if ! ip link show "$BRIDGE" > /dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    log "bridge $BRIDGE with $(node_ip 1)/$NODE_PREFIX (node-1's address)"
  fi
  ip addr replace "$(node_ip 1)/$NODE_PREFIX" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  sysctl -qw net.ipv4.ip_forward=1
  (($1 >= 2)) || return 0
  if ! ip netns list | awk '{print $1}' | grep -qxF "$NETNS2"; then
    ip netns add "$NETNS2"
    log "network namespace $NETNS2 for node-2 ($(node_ip 2), veth $VETH2 on $BRIDGE)"
  fi
  if ! ip link show "$VETH2" > /dev/null 2>&1; then
    ip link add "$VETH2" type veth peer name eth0 netns "$NETNS2"
  fi
  ip link set "$VETH2" master "$BRIDGE" up
  ip -n "$NETNS2" addr replace "$(node_ip 2)/$NODE_PREFIX" dev eth0
  ip -n "$NETNS2" link set lo up
  ip -n "$NETNS2" link set eth0 up
  ip -n "$NETNS2" route replace default via "$(node_ip 1)"
  in_node 2 sysctl -qw net.ipv4.ip_forward=1
  if in_node 2 test -e /proc/sys/net/bridge/bridge-nf-call-iptables; then
    in_node 2 sysctl -qw net.bridge.bridge-nf-call-iptables=1
  fi
}

# --- registry and images ---------------------------------------------------
registry_up() {  # NODES
  mkdir -p "$STATE/registry/data"
  cat > "$STATE/registry/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $STATE/registry/data
  delete:
    enabled: true
http:
  addr: $REGISTRY
EOF
  if ! alive registry && curl -sf -o /dev/null "http://$REGISTRY/v2/"; then
    local who
    who=$(ss -Hltnp "sport = :${REGISTRY##*:}" 2> /dev/null | grep -o 'users:.*' | head -1)
    die "something else already listens on $REGISTRY (${who:-unknown process}); Debian's docker-registry service starts one there on install: /etc/init.d/docker-registry stop"
  fi
  start_daemon registry 0 docker-registry serve "$STATE/registry/config.yml"
  wait_for 20 "registry on $REGISTRY" registry curl -sf "http://$REGISTRY/v2/"
  if (($1 >= 2)); then
    # node-2 has its own loopback: it pulls 127.0.0.1:5000/... through this forwarder (hosts.toml).
    start_daemon registry-proxy 0 socat "TCP-LISTEN:5000,bind=$(node_ip 1),fork,reuseaddr" "TCP:$REGISTRY"
    wait_for 10 "registry on $(node_ip 1):5000" registry-proxy curl -sf "http://$(node_ip 1):5000/v2/"
  fi
}
# image NAME:TAG SOURCE.c BINARY_PATH: builds a static binary with musl and
# pushes a one-layer image of it to the local registry (if changed or missing).
image() {
  local rootfs="$STATE/images/${1//[\/:]/_}/rootfs"
  mkdir -p "$rootfs"
  if [[ ! -x "$rootfs/$3" || "$2" -nt "$rootfs/$3" ]]; then
    musl-gcc -static -Os -s -Wall -o "$rootfs/$3" "$2"
  fi
  push_rootfs "$1" "$rootfs" "/$3" > /dev/null
}
# push_rootfs NAME:TAG ROOTFS ENTRYPOINT: a one-layer image of ROOTFS as
# $REGISTRY/NAME:TAG (rebuilt when a file changed, pushed when the registry
# has another digest); prints the digest.
push_rootfs() {
  local ref=$1 rootfs=$2 entry=$3 dir="$STATE/images/${1//[\/:]/_}"
  if [[ ! -f "$dir/oci/index.json" ]] || [[ -n "$(find "$rootfs" -newer "$dir/oci/index.json" -print -quit)" ]]; then
    "$HELPERS/oci-image.sh" "$dir/oci" "${ref##*:}" "$rootfs" "$entry" > /dev/null
  fi
  local want; want=$(grep -o 'sha256:[0-9a-f]*' "$dir/oci/index.json" | head -1)
  [[ "$(registry_digest "${ref%:*}" "${ref##*:}")" == "$want" ]] || "$HELPERS/push-image.py" "$dir/oci" "$REGISTRY/$ref" >&2
  echo "$want"
}
registry_digest() {  # NAME TAG: the registry's manifest digest (nothing when absent)
  curl -sfI -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REGISTRY/v2/$1/manifests/$2" |
    tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" {print $2}' || true
}

# --- control plane ---------------------------------------------------------
control_plane_up() {
  mkdir -p "$STATE/etcd" "$KCFG"
  chmod 700 "$STATE/etcd"
  start_daemon etcd 0 etcd --name cwasi --data-dir "$STATE/etcd" \
    --listen-client-urls "http://$ETCD_CLIENT" --advertise-client-urls "http://$ETCD_CLIENT" \
    --listen-peer-urls "http://$ETCD_PEER" --initial-advertise-peer-urls "http://$ETCD_PEER" \
    --initial-cluster "cwasi=http://$ETCD_PEER" --initial-cluster-state new \
    --logger zap --log-level warn
  wait_for 30 etcd etcd curl -sf "http://$ETCD_CLIENT/health"

  local c
  for c in admin controller-manager scheduler kube-proxy node-1 node-2; do kubeconfig "$KCFG/$c.conf" "$c"; done
  start_daemon kube-apiserver 0 "$KBIN/kube-apiserver" \
    --advertise-address="$APISERVER_IP" --bind-address="$APISERVER_IP" --secure-port=6443 \
    --etcd-servers="http://$ETCD_CLIENT" \
    --client-ca-file="$PKI/ca.crt" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$PKI/ca.crt" --kubelet-preferred-address-types=InternalIP \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction --allow-privileged=true \
    --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$PKI/front-proxy-client.crt" --proxy-client-key-file="$PKI/front-proxy-client.key" \
    --profiling=false
  wait_for 90 kube-apiserver kube-apiserver kctl get --raw /readyz

  start_daemon kube-controller-manager 0 "$KBIN/kube-controller-manager" \
    --kubeconfig="$KCFG/controller-manager.conf" \
    --authentication-kubeconfig="$KCFG/controller-manager.conf" --authorization-kubeconfig="$KCFG/controller-manager.conf" \
    --bind-address=127.0.0.1 --leader-elect=false \
    --allocate-node-cidrs=true --cluster-cidr="$CLUSTER_CIDR" --node-cidr-mask-size=24 \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --root-ca-file="$PKI/ca.crt" --service-account-private-key-file="$PKI/sa.key" \
    --use-service-account-credentials=true --flex-volume-plugin-dir="$STATE/flex-volume" \
    --kube-api-qps=100 --kube-api-burst=200 --profiling=false
  start_daemon kube-scheduler 0 "$KBIN/kube-scheduler" \
    --kubeconfig="$KCFG/scheduler.conf" \
    --authentication-kubeconfig="$KCFG/scheduler.conf" --authorization-kubeconfig="$KCFG/scheduler.conf" \
    --bind-address=127.0.0.1 --leader-elect=false --profiling=false
}

# --- nodes -----------------------------------------------------------------
cgroups_up() {  # N: the kubelet's cgroupRoot must exist in every hierarchy
  local h d
  for h in /sys/fs/cgroup/*/; do
    d="$h$CGROUP_PARENT/node-$1"
    mkdir -p "$d"
    if [[ -f "$h/cpuset.cpus" ]]; then  # cgroup v1 cpuset: a child starts empty
      cat "$h/cpuset.cpus" > "$h$CGROUP_PARENT/cpuset.cpus"; cat "$h/cpuset.mems" > "$h$CGROUP_PARENT/cpuset.mems"
      cat "$h/cpuset.cpus" > "$d/cpuset.cpus"; cat "$h/cpuset.mems" > "$d/cpuset.mems"
    fi
  done
}
containerd_up() {  # N
  local n=$1 dir run
  dir=$(node_dir "$n") run=$(node_run "$n")
  mkdir -p "$dir/containerd/root" "$run/containerd" "$dir/cni/net.d" "$dir/cni/ipam" "$dir/certs.d/$REGISTRY"
  local mirror="http://$REGISTRY"
  ((n > 1)) && mirror="http://$(node_ip 1):5000"
  cat > "$dir/certs.d/$REGISTRY/hosts.toml" <<EOF
server = "$mirror"

[host."$mirror"]
  capabilities = ["pull", "resolve", "push"]
  skip_verify = true
EOF
  cat > "$dir/containerd/config.toml" <<EOF
version = 2
root = "$dir/containerd/root"
state = "$run/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "$run/containerd.sock"
[ttrpc]
  address = "$run/containerd.sock.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  disable_apparmor = true
  tolerate_missing_hugetlb_controller = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$run/runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.cwasi]
      runtime_type = "io.containerd.cwasi.v1"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$dir/certs.d"
EOF
  # containerd finds containerd-shim-cwasi-v1 on its PATH, in the node's
  # $run/bin, where the node agent (deploy/node-agent.yaml) installs it; the
  # shims inherit containerd's environment: each node gets its own cwasi node
  # registry (CWASI_RUNTIME_DIR, default /run/cwasi) and cluster map (remote
  # calls: {"functions": {"NAME": "POD_IP:CWASI_COMM_PORT"}}, kept by the node
  # agent from EndpointSlices; reloaded on change).
  mkdir -p "$run/cwasi" "$run/bin"
  PATH="$run/bin:$PATH" CWASI_RUNTIME_DIR="$run/cwasi" CWASI_CLUSTER_FILE="$run/cwasi/cluster.json" \
    start_daemon "containerd-node-$n" "$n" containerd --config "$dir/containerd/config.toml"
}
kubelet_up() {  # N
  local n=$1 dir run ip
  dir=$(node_dir "$n") run=$(node_run "$n") ip=$(node_ip "$n")
  mkdir -p "$dir/kubelet/root" "$dir/kubelet/pki" "$dir/manifests" "$dir/pod-logs" "$dir/volume-plugins"
  cat > "$dir/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $ip
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $PKI/node-$n-serving.crt
tlsPrivateKeyFile: $PKI/node-$n-serving.key
cgroupDriver: cgroupfs
cgroupRoot: /$CGROUP_PARENT/node-$n
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$run/containerd.sock
staticPodPath: $dir/manifests
podLogsDir: $dir/pod-logs
volumePluginDir: $dir/volume-plugins
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
serializeImagePulls: false
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
  imagefs.inodesFree: 1%
EOF
  start_daemon "kubelet-node-$n" "$n" "$KBIN/kubelet" --config="$dir/kubelet/config.yaml" \
    --kubeconfig="$KCFG/node-$n.conf" --root-dir="$dir/kubelet/root" --cert-dir="$dir/kubelet/pki" \
    --hostname-override="node-$n" --node-ip="$ip" --v=1
}
kube_proxy_up() {  # N
  local n=$1 dir ip
  dir=$(node_dir "$n") ip=$(node_ip "$n")
  cat > "$dir/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $KCFG/kube-proxy.conf
hostnameOverride: node-$n
mode: iptables
clusterCIDR: $CLUSTER_CIDR
nodePortAddresses: ["$ip/32"]
healthzBindAddress: $ip:10256
metricsBindAddress: 127.0.0.1:10249
iptables:
  localhostNodePorts: false
conntrack:  # 0: leave the host's conntrack limits and timeouts alone
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF
  start_daemon "kube-proxy-node-$n" "$n" "$KBIN/kube-proxy" --config="$dir/kube-proxy.yaml" --v=1
}
cni_up() {  # N: the pod network, once the controller-manager allocated the node's pod CIDR
  local n=$1 cidr f
  f="$(node_dir "$n")/cni/net.d/10-$CNI_NET.conflist"
  wait_for 60 "node-$n's pod CIDR" "kubelet-node-$n" \
    bash -c "[[ -n \$('$KBIN/kubectl' --kubeconfig '$KCFG/admin.conf' get node node-$n -o jsonpath='{.spec.podCIDR}') ]]"
  cidr=$(kctl get node "node-$n" -o jsonpath='{.spec.podCIDR}')
  echo "$cidr" > "$STATE/node-$n/pod-cidr"
  [[ -f "$f" ]] && grep -qF "\"$cidr\"" "$f" && return
  cat > "$f" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$CNI_NET",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$CNI_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$cidr"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$(node_dir "$n")/cni/ipam"
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
  log "node-$n: pod CIDR $cidr (bridge $CNI_BRIDGE)"
}
routes_up() {  # NODES: each node reaches the other's pod CIDR through the other's address
  (($1 >= 2)) || return 0
  local c1 c2
  c1=$(cat "$STATE/node-1/pod-cidr") c2=$(cat "$STATE/node-2/pod-cidr")
  ip route replace "$c2" via "$(node_ip 2)" dev "$BRIDGE"
  ip -n "$NETNS2" route replace "$c1" via "$(node_ip 1)" dev eth0
}

# --- up ----------------------------------------------------------------------
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

  "$ROOT/scripts/setup.sh" cluster
  [[ -x "$SHIM" ]] || die "$SHIM is missing: make build first"
  "$ROOT/scripts/k8s-build.sh" | grep -v "^$KBIN\$" | grep -v ' cached$' || true
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

# --- cwasi: deploy/ (CRDs, RBAC, RuntimeClass, operator, node agent) --------
go_binary() {  # CMD OUT: operator/cmd/CMD as a static binary (rewritten only when it changed)
  (cd "$ROOT/operator" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" \
    nice -n 10 go build -trimpath -ldflags "-s -w" -o "$2.tmp" "./cmd/$1") || die "go build ./cmd/$1 failed"
  if cmp -s "$2.tmp" "$2"; then rm -f "$2.tmp"; else mv -f "$2.tmp" "$2"; fi
}
# cwasi_up: builds and pushes the operator, node agent (with the shim) and
# workflow images, applies deploy/ through an overlay naming them by digest
# and this cluster's node paths, and waits for the node agents (the shim
# installed on every node) and the operator.
cwasi_up() {
  command -v go > /dev/null 2>&1 || export PATH="/usr/local/go/bin:$PATH"
  local img="$STATE/images" op agent wf
  mkdir -p "$img/operator/rootfs" "$img/node-agent/rootfs/cwasi"
  go_binary operator "$img/operator/rootfs/operator"
  go_binary node-agent "$img/node-agent/rootfs/node-agent"
  cmp -s "$SHIM" "$img/node-agent/rootfs/cwasi/containerd-shim-cwasi-v1" ||
    cp -f "$SHIM" "$img/node-agent/rootfs/cwasi/containerd-shim-cwasi-v1"
  op=$(push_rootfs cwasi/operator:dev "$img/operator/rootfs" /operator)
  agent=$(push_rootfs cwasi/node-agent:dev "$img/node-agent/rootfs" /node-agent)
  "$BUILD_DIR/bin/cwasi" image build "$BUILD_DIR/functions/workflow.wasm" -t "$REGISTRY/cwasi/workflow:dev" \
    -o "$img/workflow.tar" > /dev/null
  "$BUILD_DIR/bin/cwasi" image push "$img/workflow.tar" "$REGISTRY/cwasi/workflow:dev" > /dev/null
  wf=$(registry_digest cwasi/workflow dev)
  [[ -n "$wf" ]] || die "the workflow image is not in the registry"
  mkdir -p "$STATE/deploy"
  cat > "$STATE/deploy/kustomization.yaml" <<EOF
# Written by scripts/cluster.sh: deploy/ with this cluster's images and node paths.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- $(realpath --relative-to="$STATE/deploy" "$ROOT/deploy")
images:
- {name: cwasi/operator, newName: $REGISTRY/cwasi/operator, digest: $op}
- {name: cwasi/node-agent, newName: $REGISTRY/cwasi/node-agent, digest: $agent}
patches:
- target: {kind: Deployment, name: cwasi-operator}
  patch: |-
    - {op: replace, path: /spec/template/spec/containers/0/args/2, value: "--workflow-image=$REGISTRY/cwasi/workflow@$wf"}
- target: {kind: DaemonSet, name: cwasi-node-agent}
  patch: |-
    - {op: replace, path: /spec/template/spec/containers/0/args, value: ["--node-name=\$(NODE_NAME)",
       "--shim-dir=/host/shim/\$(NODE_NAME)/bin", "--containerd-config=/host/containerd/\$(NODE_NAME)/containerd/config.toml",
       "--cluster-map=/host/cwasi/\$(NODE_NAME)/cwasi/cluster.json", "--health-addr=:8081"]}
    - {op: replace, path: /spec/template/spec/volumes/0/hostPath/path, value: $RUN}
    - {op: replace, path: /spec/template/spec/volumes/1/hostPath/path, value: $STATE}
    - {op: replace, path: /spec/template/spec/volumes/2/hostPath/path, value: $RUN}
EOF
  kctl apply --server-side --force-conflicts -k "$STATE/deploy" > "$LOGS/deploy.log" 2>&1 ||
    { cat "$LOGS/deploy.log"; die "kubectl apply -k deploy/ failed"; }
  wait_for 180 "the node agents (the shim on every node)" deploy \
    kctl -n cwasi-system rollout status daemonset/cwasi-node-agent --timeout=5s
  wait_for 120 "the operator" deploy kctl -n cwasi-system rollout status deployment/cwasi-operator --timeout=5s
}

# --- down --------------------------------------------------------------------
# Daemons `up` started that no pid file names any more (an `up` killed between
# starting one and writing its pid file, a pid file removed by hand): ours
# because their command line names this cluster's state or runtime dir (the
# registry's forwarder: its address), and one of the programs `up` starts.
stray_daemons() {
  local p exe cmd
  for p in /proc/[0-9]*; do
    exe=$(readlink "$p/exe" 2> /dev/null) || continue
    case "${exe##*/}" in
      etcd | kube-apiserver | kube-controller-manager | kube-scheduler | kubelet | kube-proxy | containerd | docker-registry | socat) ;;
      *) continue ;;
    esac
    cmd=$(tr '\0' ' ' < "$p/cmdline" 2> /dev/null) || continue
    if [[ "$cmd" == *"$STATE/"* || "$cmd" == *"$RUN/"* || "$cmd" == *"bind=$(node_ip 1),"*"TCP:$REGISTRY"* ]]; then
      echo "${p#/proc/}"
    fi
  done
  return 0
}
stop_strays() {
  local strays i
  strays=$(stray_daemons)
  [[ -n "$strays" ]] || return 0
  log "stopping daemon(s) of this cluster that no pid file names: $(echo $strays)"
  kill -TERM $strays 2> /dev/null || true
  for ((i = 0; i < 50; i++)); do
    strays=$(stray_daemons); [[ -z "$strays" ]] && return 0
    sleep 0.1
  done
  kill -KILL $strays 2> /dev/null || true
  STOPPED=1
}
kill_cgroup_procs() {  # every process left in the kubelets' cgroup trees (containers)
  local i pids
  for ((i = 0; i < 50; i++)); do
    pids=$(find /sys/fs/cgroup/*/"$CGROUP_PARENT" -name cgroup.procs -exec cat {} + 2> /dev/null | sort -u || true)
    [[ -z "$pids" ]] && return 0
    ((i == 0)) && log "killing $(wc -w <<< "$pids") container process(es) in /$CGROUP_PARENT"
    kill -KILL $pids 2> /dev/null || true
    sleep 0.2
  done
  warn "processes left in /$CGROUP_PARENT: $pids"
}
shim_pids() {  # shims (runc's and cwasi's) serving our containerds
  local p cmd
  for p in /proc/[0-9]*; do
    cmd=$(tr '\0' ' ' < "$p/cmdline" 2> /dev/null) || continue
    [[ "$cmd" == *containerd-shim* && "$cmd" == *" $RUN/node-"*"/containerd.sock"* ]] && echo "${p#/proc/}"
  done
  return 0
}
unix_sockets_of() {  # PID...: paths of the unix sockets they hold
  local inodes
  inodes=$(for p in "$@"; do ls -l "/proc/$p/fd" 2> /dev/null; done | grep -o 'socket:\[[0-9]*\]' | tr -dc '0-9\n' | sort -u || true)
  [[ -n "$inodes" ]] || return 0
  awk 'NR == FNR {want[$1] = 1; next} FNR > 1 && ($7 in want) && $8 ~ /^\// {print $8}' <(echo "$inodes") /proc/net/unix | sort -u
}
shim_socket_paths() {  # where containerd 1.6 puts a shim's socket: /run/containerd/s/sha256(address/ns/id)
  local n id addr
  for n in 1 2; do
    addr="$(node_run "$n")/containerd.sock"
    [[ -S "$addr" ]] || continue
    for id in $(ctr --address "$addr" -n k8s.io containers list -q 2> /dev/null); do
      echo "/run/containerd/s/$(printf '%s' "$addr/k8s.io/$id" | sha256sum | cut -d' ' -f1)"
    done
  done
  return 0
}
umount_under() {  # PREFIX...: unmount everything mounted at or below them, deepest first
  local prefix m
  for prefix in "$@"; do
    awk -v p="$prefix" '$5 == p || index($5, p "/") == 1 {print $5}' /proc/self/mountinfo | sort -r |
      while read -r m; do
        m=$(printf '%b' "$m")
        umount "$m" 2> /dev/null || umount -l "$m" 2> /dev/null || warn "cannot unmount $m"
      done
  done
  return 0
}
iptables_restore_chains() {  # delete KUBE-*/CNI-* chains that did not exist before up, and every rule jumping to them
  local fam table chain line
  local -A new=()
  while read -r fam table chain; do
    [[ "$chain" == KUBE-* || "$chain" == CNI-* ]] || continue
    grep -qxF "$fam $table $chain" "$BEFORE/chains" 2> /dev/null && continue
    new["$fam $table $chain"]=1
  done < <(iptables_chains)
  ((${#new[@]})) || return 0
  for fam in iptables ip6tables; do
    for table in $(printf '%s\n' "${!new[@]}" | awk -v f="$fam" '$1 == f {print $2}' | sort -u); do
      # rules in other chains that jump to a new chain
      "$fam-save" -t "$table" | grep -E '^-A ' | while read -r line; do
        local target
        target=$(grep -oE -- '-[jg] [^ ]+' <<< "$line" | awk '{print $2}')
        [[ -n "$target" && -n "${new["$fam $table $target"]:-}" ]] || continue
        chain=$(awk '{print $2}' <<< "$line")
        [[ -n "${new["$fam $table $chain"]:-}" ]] && continue
        eval "$fam -w -t $table -D ${line#-A }" || warn "$fam -t $table: could not delete: $line"
      done || true
      for chain in $(printf '%s\n' "${!new[@]}" | awk -v f="$fam" -v t="$table" '$1 == f && $2 == t {print $3}'); do
        "$fam" -w -t "$table" -F "$chain" 2> /dev/null || true
      done
      for chain in $(printf '%s\n' "${!new[@]}" | awk -v f="$fam" -v t="$table" '$1 == f && $2 == t {print $3}'); do
        "$fam" -w -t "$table" -X "$chain" 2> /dev/null || warn "$fam -t $table: could not delete chain $chain"
      done
    done
  done
  log "removed ${#new[@]} iptables chain(s) (KUBE-*, CNI-*) and the rules jumping to them"
}
drop_new_empty_tables() {  # iptables-nft leaves empty tables behind: drop those that did not exist before
  command -v nft > /dev/null 2>&1 || return 0
  iptables --version 2> /dev/null | grep -q nf_tables || return 0
  local fam v nfam table
  for fam in iptables ip6tables; do
    if [[ "$fam" == iptables ]]; then v=v4 nfam=ip; else v=v6 nfam=ip6; fi
    for table in $("$fam-save" 2> /dev/null | sed -n 's/^\*//p'); do
      grep -qxF "*$table" "$BEFORE/iptables-save.$v" 2> /dev/null && continue
      # only builtin chains (a policy, not "-"), all ACCEPT, and no rules
      "$fam-save" -t "$table" | grep -qE '^-A |^:[^ ]+ (-|DROP)' && continue
      nft delete table "$nfam" "$table" 2> /dev/null && log "removed the empty $nfam $table table (created by iptables-nft)"
    done
  done
  return 0
}
restore_sysctls() {
  [[ -f "$BEFORE/sysctl" ]] || return 0
  local key value now
  while IFS= read -r line; do
    key=${line%% = *} value=${line#* = }
    now=$(sysctl -n "$key" 2> /dev/null) || continue
    [[ "$now" == "$value" ]] && continue
    if sysctl -qw "$key=$value" 2> /dev/null; then log "sysctl $key restored to $value (was $now)"; fi
  done < "$BEFORE/sysctl"
}
remove_new_path() {  # PATH: remove it if up created it (recursively only when told)
  local p=$1 recursive=${2:-}
  [[ -e "$p" ]] || return 0
  existed "$p" && return 0
  if [[ -n "$recursive" ]]; then rm -rf --one-file-system "$p"; else rmdir "$p" 2> /dev/null || warn "$p is not empty; left in place"; fi
}
cmd_down() {
  [[ $(id -u) -eq 0 ]] || die "must run as root"
  if [[ ! -d "$STATE" ]]; then log "nothing to stop ($STATE does not exist)"; return; fi
  mkdir -p "$PIDS"
  local n p
  rm -f "$STATE/up"
  for n in 2 1; do stop_daemon "kube-proxy-node-$n"; stop_daemon "kubelet-node-$n"; done
  kill_cgroup_procs
  local socks=() shims
  mapfile -t socks < <(shim_socket_paths)
  # The pods' network namespaces and sandbox ids, from containerd (before it stops).
  local netns_ours=() ids=()
  for n in 1 2; do
    [[ -S "$(node_run "$n")/containerd.sock" ]] || continue
    for p in $(ctr --address "$(node_run "$n")/containerd.sock" -n k8s.io containers list -q 2> /dev/null); do
      ids+=("$p")
      netns_ours+=($(ctr --address "$(node_run "$n")/containerd.sock" -n k8s.io containers info "$p" 2> /dev/null |
        grep -o '/var/run/netns/cni-[0-9a-f-]*' | sed 's|.*/||' | sort -u || true))
    done
  done
  for n in 2 1; do stop_daemon "containerd-node-$n" 15; done
  shims=$(shim_pids)
  if [[ -n "$shims" ]]; then
    mapfile -t -O "${#socks[@]}" socks < <(unix_sockets_of $shims)
    log "stopping shim(s): $(echo $shims)"
    kill -TERM $shims 2> /dev/null || true
    sleep 1
    shims=$(shim_pids); [[ -z "$shims" ]] || kill -KILL $shims 2> /dev/null || true
  fi
  for p in "${socks[@]}"; do
    [[ "$p" == /run/containerd/s/* || "$p" == "$RUN"/* ]] && rm -f "$p"
  done
  stop_daemon kube-scheduler; stop_daemon kube-controller-manager; stop_daemon kube-apiserver 5  # its storage stats goroutine can hold it ~10 s past SIGTERM
  stop_daemon etcd; stop_daemon registry-proxy; stop_daemon registry
  stop_strays

  # Mounts (overlay rootfs, shm, kubelet volumes) and the pods' network namespaces.
  umount_under "$STATE" "$RUN"
  local ns
  for ns in $(ip netns list 2> /dev/null | awk '{print $1}'); do
    [[ "$ns" == cni-* ]] || continue
    if printf '%s\n' "${netns_ours[@]}" | grep -qxF "$ns" || ! grep -qxF "$ns" "$BEFORE/netns" 2> /dev/null; then
      ip netns delete "$ns" 2> /dev/null || { umount "/run/netns/$ns" 2> /dev/null; rm -f "/run/netns/$ns"; }
    fi
  done
  ip netns delete "$NETNS2" 2> /dev/null || true
  ip link delete "$VETH2" 2> /dev/null || true
  ip link delete "$CNI_BRIDGE" 2> /dev/null || true
  ip link delete "$BRIDGE" 2> /dev/null || true
  # Any other link that appeared (the pods' veths go with their namespaces).
  if [[ -f "$BEFORE/links" ]]; then
    for p in $(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//'); do
      grep -qxF "$p" "$BEFORE/links" || [[ "$p" != veth* ]] || ip link delete "$p" 2> /dev/null || true
    done
  fi

  if [[ ! -f "$BEFORE/complete" ]]; then
    if ((!${STOPPED:-0})) && [[ ! -d "$RUN" ]]; then log "already down"; return; fi
    warn "no record of the host's state before up ($BEFORE): host paths, chains and sysctls left as they are"
    rm -rf --one-file-system "$STATE/etcd" "$STATE"/node-* "$STATE/flex-volume" "$RUN" "$PIDS" "$STATE/nodes" "$STATE/env"
    return
  fi
  iptables_restore_chains
  drop_new_empty_tables
  # libcni's cache: "<network>-<sandbox id>-<ifname>" for our network and containerd's loopback
  for p in /var/lib/cni/results/"$CNI_NET"-*; do
    [[ -e "$p" ]] || continue
    p=${p#/var/lib/cni/results/"$CNI_NET"-}; ids+=("${p%-*}")
  done
  for p in "${ids[@]}"; do rm -f /var/lib/cni/results/{"$CNI_NET",cni-loopback}-"$p"-*; done
  for p in /var/log/containers/*; do  # kubelet's symlinks into our pod log dirs
    [[ -L "$p" && "$(readlink "$p")" == "$STATE"/* ]] && rm -f "$p"
  done
  remove_new_path /var/lib/cni/results; remove_new_path /var/lib/cni
  remove_new_path /var/lib/kubelet/device-plugins recursive; remove_new_path /var/lib/kubelet
  remove_new_path /var/log/containers; remove_new_path /var/log/pods
  remove_new_path /run/containerd/runc; remove_new_path /run/containerd/s; remove_new_path /run/containerd
  if mountpoint -q /run/netns 2> /dev/null && ! grep -qxF /run/netns "$BEFORE/mountpoints" 2> /dev/null; then
    umount /run/netns 2> /dev/null || warn "/run/netns still has mounts; left mounted"
  fi
  remove_new_path /run/netns
  restore_sysctls
  local h
  for h in /sys/fs/cgroup/*/; do
    [[ -d "$h$CGROUP_PARENT" ]] && find "$h$CGROUP_PARENT" -depth -type d -exec rmdir {} \; 2> /dev/null
    [[ -d "$h$CGROUP_PARENT" ]] && warn "cgroup $h$CGROUP_PARENT not removed"
  done

  # Data that must not outlive the cluster: etcd, containerd, kubelet, CNI state (certs and registry stay).
  rm -rf --one-file-system "$STATE/etcd" "$STATE"/node-* "$STATE/flex-volume" "$RUN" "$PIDS" "$STATE/nodes" "$STATE/env"
  rm -rf "$BEFORE"
  log "down: stopped, host state restored"
}

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

# --- smoke test ----------------------------------------------------------------
retry() {  # SECONDS CMD...: CMD's output once it succeeds (kube-proxy syncs a new Service within ~1-2 s)
  local deadline=$((SECONDS + $1)); shift
  until "$@" 2> /dev/null; do ((SECONDS < deadline)) || return 1; sleep 0.5; done
}
cmd_smoke() {
  alive kube-apiserver || die "the cluster is not up (scripts/cluster.sh up)"
  local nodes; nodes=$(cat "$STATE/nodes")
  image cwasi/hello-http:1 "$HELPERS/hello-http.c" hello-http
  local t0=$SECONDS
  kctl apply -f - > /dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: hello, namespace: default}
spec:
  replicas: $nodes
  selector: {matchLabels: {app: hello}}
  template:
    metadata: {labels: {app: hello}}
    spec:
      terminationGracePeriodSeconds: 2
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: hello}}}
      containers:
      - name: hello
        image: $REGISTRY/cwasi/hello-http:1
        ports: [{containerPort: 8080}]
        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: hello, namespace: default}
spec:
  selector: {app: hello}
  ports: [{port: 80, targetPort: 8080}]
EOF
  kctl rollout status deployment/hello --timeout=120s
  log "deployment Ready in $((SECONDS - t0)) s"
  local fail=0 pod ip node svc out
  svc=$(kctl get service hello -o jsonpath='{.spec.clusterIP}')
  while read -r pod ip node; do
    out=$(retry 10 curl -sf --max-time 5 "http://$ip:8080/") && log "node-1 -> pod $pod on $node ($ip): $out" ||
      { warn "pod $pod ($ip) on $node: no answer from node-1"; fail=1; }
  done < <(kctl get pods -l app=hello -o jsonpath='{range .items[*]}{.metadata.name} {.status.podIP} {.spec.nodeName}{"\n"}{end}')
  for n in $(seq 1 "$nodes"); do
    out=$(retry 10 in_node "$n" curl -sf --max-time 5 "http://$svc/") && log "node-$n -> Service hello ($svc): $out" ||
      { warn "node-$n: no answer from Service $svc"; fail=1; }
  done
  if ((nodes >= 2)); then
    local p1 ip2
    p1=$(kctl get pods -l app=hello --field-selector spec.nodeName=node-1 -o jsonpath='{.items[0].metadata.name}')
    ip2=$(kctl get pods -l app=hello --field-selector spec.nodeName=node-2 -o jsonpath='{.items[0].status.podIP}')
    out=$(retry 10 kctl exec "$p1" -- /hello-http get "$ip2:8080") && log "pod $p1 (node-1) -> pod $ip2 (node-2): $out" ||
      { warn "pod $p1 on node-1 cannot reach $ip2 on node-2"; fail=1; }
  fi
  out=$(retry 10 kctl exec deploy/hello -- /hello-http get "$svc:80") && log "pod -> Service hello: $out" ||
    { warn "a pod cannot reach Service $svc"; fail=1; }
  kctl logs deploy/hello --tail=3 | sed 's/^/  kubectl logs: /'
  [[ -n "$(kctl logs deploy/hello --tail=1)" ]] || { warn "kubectl logs returned nothing"; fail=1; }
  if [[ "${KEEP:-}" != 1 ]]; then
    kctl delete deployment/hello service/hello --wait=true > /dev/null
  fi
  ((fail == 0)) || die "smoke test failed"
  log "smoke test passed"
}

case "${1:-}" in
  up) cmd_up "${2:-${NODES:-1}}" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  smoke) cmd_smoke ;;
  # restart-containerd [N]: stop node N's containerd (SIGTERM) and start it again;
  # running pods keep running (their shims are their own processes)
  restart-containerd)
    n=${2:-1}; alive "containerd-node-$n" || die "containerd-node-$n is not running"
    stop_daemon "containerd-node-$n" && containerd_up "$n" ;;
  # push-native REF SOURCE.c BINARY: a static native image (musl) in the registry
  push-native) alive kube-apiserver || die "the cluster is not up"; image "$2" "$3" "$4" ;;
  *) echo "usage: $0 up [NODES] | down | status | smoke | restart-containerd [N] | push-native REF SOURCE.c BINARY" >&2; exit 2 ;;
esac
