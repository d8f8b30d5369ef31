#!/usr/bin/env bash
# The operator at scale: 1,000 Functions on 100 fake nodes, all Ready, and an
# operator killed (SIGKILL) half-way through another 1,000 that loses nothing.
#
#   test/kubernetes/scale_test.sh BUILD_DIR
#
# Brings up its own control plane in a temp dir — etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok (fake nodes whose pods
# kwok marks Running and Ready; stages in test/kubernetes/kwok/stages) — no
# kubelet, no containerd, nothing on the host but processes and the temp dir.
# The operator is built from operator/ and runs out of cluster.
#
#   phase 1  create N Functions (parallel kubectl creates) -> all Ready:
#            seconds, Functions/s, the operator's CPU seconds and peak RSS
#   phase 2  create N more; SIGKILL the operator once half are created,
#            create the rest, start it again -> all 2N Ready, each with its
#            own Deployment (one ReplicaSet, one pod) and Service
#
# Timing is reported, not judged: the only limit is CWASI_SCALE_TIMEOUT per
# phase, against hangs. Environment (defaults): CWASI_SCALE_FUNCTIONS (1000),
# CWASI_SCALE_NODES (100), CWASI_SCALE_WORKERS (8, the operator's --workers),
# CWASI_SCALE_TIMEOUT (600 s), CWASI_SCALE_OUT (also write the numbers there
# as a Markdown table). Kubernetes and kwok come from the cache outside the
# clone (scripts/k8s-build.sh, scripts/kwok-build.sh build what is missing).
# Ends with "N passed, M failed"; alone on the machine (fixed ports below).
set -uo pipefail
# shellcheck disable=SC2034  # every test's argument; this one needs nothing built (Kubernetes and kwok come from the cache)
BUILD_DIR=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
N=${CWASI_SCALE_FUNCTIONS:-1000}
NODES=${CWASI_SCALE_NODES:-100}
WORKERS=${CWASI_SCALE_WORKERS:-8}
TIMEOUT=${CWASI_SCALE_TIMEOUT:-600}
NAMESPACES=4 # Functions spread over this many namespaces per phase
CHUNKS=10    # parallel kubectl creates per phase (kubectl's own client limit is 50 QPS)
# Ports on 127.0.0.1, away from a real cluster's (2379/2380, 6443, 8080/8081):
ETCD_PORT=23790 ETCD_PEER_PORT=23800 API_PORT=16443 METRICS_PORT=18080 PROBE_PORT=18081
PORTS=("$ETCD_PORT" "$ETCD_PEER_PORT" "$API_PORT" "$METRICS_PORT" "$PROBE_PORT")

WORK=$(mktemp -d /tmp/cwasi-scale-test.XXXXXX)
passed=0 failed=0
pids=() # everything this test started, in start order
op_pid=""

pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() { # check NAME COMMAND...
  local name=$1
  shift
  if "$@"; then pass "$name"; else fail "$name"; fi
}
# stop PID: SIGTERM, up to 10 s to exit, then SIGKILL. Only our own children.
stop() {
  kill -0 "$1" 2> /dev/null || return 0
  kill -TERM "$1" 2> /dev/null
  for _ in $(seq 100); do kill -0 "$1" 2> /dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2> /dev/null
  wait "$1" 2> /dev/null
}
cleanup() {
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop "${pids[i]}"; done
  echo "$passed passed, $failed failed"
  rm -rf "$WORK"
  [[ $failed -eq 0 ]]
}
trap 'cleanup; exit $?' EXIT
trap 'fail "the test runs to its end (interrupted)"; exit 130' INT TERM
die() { # die WHAT [LOG]: a step the rest depends on failed
  fail "$1"
  [[ -n "${2:-}" && -f "$2" ]] && tail -20 "$2"
  exit 1
}

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
secs() { awk -v ms="$1" 'BEGIN {printf "%.1f", ms / 1000}'; }
# The CPU seconds (user + system) and the peak RSS (MB) of a live process.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); printf "%.1f", ($12 + $13) / hz}' "/proc/$1/stat"; }
hwm_mb() { awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
# wait_for SECONDS COMMAND...: until COMMAND succeeds (every 0.5 s).
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" > /dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

# --- what it runs --------------------------------------------------------
for p in "${PORTS[@]}"; do
  if [[ -n "$(ss -Hltn "sport = :$p" 2> /dev/null)" ]]; then
    die "port $p is free (something listens on it: another scale test or cluster?)"
  fi
done
pass "ports ${PORTS[*]} are free"

K8S_BIN=$("$ROOT/scripts/k8s-build.sh" kube-apiserver kube-controller-manager kube-scheduler kubectl | tail -1) ||
  die "Kubernetes binaries are built (scripts/k8s-build.sh)"
KWOK=$("$ROOT/scripts/kwok-build.sh" | tail -1) || die "kwok is built (scripts/kwok-build.sh)"
command -v etcd > /dev/null || die "etcd is installed (Debian's etcd-server)"
command -v go > /dev/null 2>&1 || export PATH="/usr/local/go/bin:$PATH"
(cd "$ROOT/operator" && nice -n 19 go build -o "$WORK/operator" ./cmd/operator) > "$WORK/build.log" 2>&1 ||
  die "the operator builds" "$WORK/build.log"
pass "Kubernetes $("$K8S_BIN/kubectl" version --client -o json | sed -n 's/.*"gitVersion": "\(.*\)".*/\1/p' | head -1), kwok and the operator are built"
export PATH="$K8S_BIN:$PATH" KUBECONFIG="$WORK/kubeconfig"

# --- the control plane ---------------------------------------------------
# Auth: one static bearer token for a system:masters user, shared by every
# component (local-only, on loopback); the apiserver serves a self-signed
# certificate it makes in --cert-dir. The service-account key pair signs the
# pods' projected tokens.
TOKEN=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$TOKEN,scale-admin,scale-admin,system:masters" > "$WORK/tokens.csv"
if ! openssl genrsa -out "$WORK/sa.key" 2048 > /dev/null 2>&1 ||
  ! openssl rsa -in "$WORK/sa.key" -pubout -out "$WORK/sa.pub" > /dev/null 2>&1; then
  die "a service-account key pair is made (openssl)"
fi
cat > "$WORK/kubeconfig" << EOF
apiVersion: v1
kind: Config
clusters:
- name: scale
  cluster: {server: "https://127.0.0.1:$API_PORT", insecure-skip-tls-verify: true}
users:
- name: scale-admin
  user: {token: "$TOKEN"}
contexts:
- name: scale
  context: {cluster: scale, user: scale-admin}
current-context: scale
EOF

etcd --name scale --data-dir "$WORK/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "scale=http://127.0.0.1:$ETCD_PEER_PORT" > "$WORK/etcd.log" 2>&1 &
pids+=($!)
etcd_pid=$!
wait_for 30 curl -sf "http://127.0.0.1:$ETCD_PORT/health" || die "etcd starts" "$WORK/etcd.log"

# --endpoint-reconciler-type=none: the `kubernetes` Service cannot point at a
# loopback address, and nothing here calls the apiserver through it.
# WatchList=false: Debian's etcd 3.4.23 lacks RequestWatchProgress, so the
# apiserver refuses watch-list streams — and with WatchList on it turns a
# plain watch from resourceVersion 0, which is how kwok watches pods, into
# one. kwok would then see every watch fail and act only on its relists,
# 20-40 s apart: that, not the operator, would set the time to Ready.
kube-apiserver --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
  --cert-dir "$WORK/apiserver" --token-auth-file "$WORK/tokens.csv" --authorization-mode RBAC \
  --service-account-key-file "$WORK/sa.pub" --service-account-signing-key-file "$WORK/sa.key" \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range 10.96.0.0/16 --endpoint-reconciler-type none \
  --feature-gates WatchList=false > "$WORK/apiserver.log" 2>&1 &
pids+=($!)
api_pid=$!
wait_for 90 kubectl get --raw /readyz || die "kube-apiserver starts" "$WORK/apiserver.log"
# The CRDs before the controller manager: its garbage collector maps the
# Functions' owner references only after its next discovery otherwise.
cat > "$WORK/runtimeclass.yaml" << EOF
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: cwasi}
handler: cwasi
EOF
kubectl apply -f "$WORK/runtimeclass.yaml" > /dev/null || die "the cwasi RuntimeClass is created"
if ! kubectl apply -f "$ROOT/deploy/crds/" > /dev/null ||
  ! kubectl wait --for condition=Established --timeout 60s crd/functions.cwasi.io crd/workflows.cwasi.io > /dev/null; then
  die "the CRDs are established"
fi

# The controller manager and the scheduler with their client limits raised
# (as kwokctl does): at their defaults (20 and 50 QPS) they, not the
# operator, would set the pace of 1,000 Deployments. No serving ports.
kube-controller-manager --kubeconfig "$KUBECONFIG" --leader-elect=false --controllers '*' \
  --secure-port 0 --kube-api-qps 1000 --kube-api-burst 2000 \
  --service-account-private-key-file "$WORK/sa.key" \
  --flex-volume-plugin-dir "$WORK/flexvolume" > "$WORK/controller-manager.log" 2>&1 &
pids+=($!)
kcm_pid=$!
kube-scheduler --kubeconfig "$KUBECONFIG" --leader-elect=false --secure-port 0 \
  --kube-api-qps 1000 --kube-api-burst 2000 > "$WORK/scheduler.log" 2>&1 &
pids+=($!)
sched_pid=$!
stages=()
for f in "$ROOT"/test/kubernetes/kwok/stages/*.yaml; do stages+=(--config "$f"); done
"$KWOK" --kubeconfig "$KUBECONFIG" --manage-all-nodes=false \
  --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
  --node-lease-duration-seconds 40 "${stages[@]}" > "$WORK/kwok.log" 2>&1 &
pids+=($!)
kwok_pid=$!
sleep 1
for c in controller-manager:$kcm_pid scheduler:$sched_pid kwok:$kwok_pid; do
  kill -0 "${c#*:}" 2> /dev/null || die "the ${c%%:*} starts" "$WORK/${c%%:*}.log"
done

# The fake nodes. Not tainted (kwok's examples taint them
# kwok.x-k8s.io/node=fake:NoSchedule): the operator's pods carry no
# tolerations, as on a real cluster, and there are no other nodes here for a
# taint to keep them to. Each has its own pod CIDR for kwok's pod IPs.
for ((i = 0; i < NODES; i++)); do
  cat << EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels: {type: kwok, kubernetes.io/hostname: kwok-node-$i, kubernetes.io/os: linux, kubernetes.io/arch: amd64}
spec: {podCIDR: 10.$((128 + i / 256)).$((i % 256)).0/24, podCIDRs: [10.$((128 + i / 256)).$((i % 256)).0/24]}
---
EOF
done > "$WORK/nodes.yaml"
kubectl create -f "$WORK/nodes.yaml" > /dev/null || die "$NODES fake nodes are created"
nodes_ready() { [[ $(kubectl get nodes -l type=kwok -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c '^True$') -eq $NODES ]]; }
check "$NODES fake nodes are Ready (kwok)" wait_for 120 nodes_ready

# Namespaces first, and their default ServiceAccount (pods cannot be created
# before it exists: the ReplicaSet controller would back off and the wait
# would measure that).
for phase in scale restart; do
  for ((n = 1; n <= NAMESPACES; n++)); do echo "apiVersion: v1
kind: Namespace
metadata: {name: $phase-$n}
---"; done
done > "$WORK/namespaces.yaml"
kubectl create -f "$WORK/namespaces.yaml" > /dev/null || die "the test namespaces are created"
default_sas() { [[ $(kubectl get sa -A --field-selector metadata.name=default -o name | wc -l) -ge $((2 * NAMESPACES)) ]]; }
wait_for 60 default_sas || die "the namespaces' default ServiceAccounts exist" "$WORK/controller-manager.log"

# --- the operator --------------------------------------------------------
start_operator() { # start_operator LOG
  "$WORK/operator" --kubeconfig "$KUBECONFIG" --workers "$WORKERS" \
    --metrics-bind-address "127.0.0.1:$METRICS_PORT" --health-probe-bind-address "127.0.0.1:$PROBE_PORT" \
    > "$1" 2>&1 &
  op_pid=$!
  pids+=("$op_pid")
  wait_for 30 curl -sf "http://127.0.0.1:$PROBE_PORT/readyz"
}
# Reconciles of Functions so far, by result (controller-runtime's counter).
reconciles() {
  curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" |
    awk '/^controller_runtime_reconcile_total\{controller="function"/ {
           match($0, /result="[a-z_]+"/); r[substr($0, RSTART + 8, RLENGTH - 9)] += $NF }
         END {printf "%d total, %d error, %d requeue", r["success"] + r["error"] + r["requeue"] + r["requeue_after"], r["error"], r["requeue"] + r["requeue_after"]}'
}

# Each phase's Functions as CHUNKS files, spread over its namespaces.
write_functions() { # write_functions PHASE
  local i
  for ((i = 0; i < N; i++)); do
    printf 'apiVersion: cwasi.io/v1alpha1\nkind: Function\nmetadata:\n  name: fn-%04d\n  namespace: %s-%d\n  labels: {cwasi-scale: %s}\nspec: {image: "registry.invalid/scale/hello:1"}\n---\n' \
      "$i" "$1" $((i % NAMESPACES + 1)) "$1" >> "$WORK/$1-$((i % CHUNKS)).yaml"
  done
}
create_chunks() { # create_chunks PHASE FIRST LAST: kubectl create, in parallel
  local c cpids=() ok=0
  for ((c = $2; c <= $3; c++)); do
    kubectl create -f "$WORK/$1-$c.yaml" > /dev/null 2>> "$WORK/create.log" &
    cpids+=($!)
  done
  for c in "${cpids[@]}"; do wait "$c" || ok=1; done
  return $ok
}
# "True" lines for the Functions labelled PHASE (all: every phase).
ready_count() {
  local sel=()
  [[ $1 != all ]] && sel=(-l "cwasi-scale=$1")
  kubectl get fn -A "${sel[@]}" -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2> /dev/null |
    grep -c '^True$'
}
# wait_ready PHASE COUNT: every 0.5 s, progress every 10 s; fails at TIMEOUT.
wait_ready() {
  local deadline=$((SECONDS + TIMEOUT)) next=$((SECONDS + 10)) got
  while :; do
    got=$(ready_count "$1")
    [[ $got -ge $2 ]] && return 0
    ((SECONDS < deadline)) || { echo "  $got of $2 Ready after ${TIMEOUT} s"; return 1; }
    ((SECONDS >= next)) && { echo "  ... $got of $2 Ready"; next=$((SECONDS + 10)); }
    sleep 0.5
  done
}

# one_each COUNT KIND OWNER [ARGS...]: COUNT Functions each own exactly one
# KIND (the Function's name read by the jsonpath OWNER), none owns two.
one_each() {
  local want=$1 kind=$2 owner=$3
  shift 3
  kubectl get "$kind" -A -l functions.cwasi.io/name "$@" \
    -o jsonpath="{range .items[*]}{.metadata.namespace}/$owner{\"\\n\"}{end}" |
    sort | uniq -c | awk -v want="$want" '$1 != 1 {bad++} END {exit !(bad == 0 && NR == want)}'
}
# check_objects: every Function has a Deployment and a Service of its name,
# controlled by it (the owner's UID), nothing else the operator manages,
# one ReplicaSet per Deployment (no spurious rollout) and one pod each.
check_objects() {
  local want total
  kubectl get fn -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name} {.metadata.uid}{"\n"}{end}' |
    sort > "$WORK/fns"
  total=$(wc -l < "$WORK/fns")
  want='{range .items[*]}{.metadata.namespace}/{.metadata.name} {.metadata.ownerReferences[?(@.controller==true)].uid}{"\n"}{end}'
  kubectl get deploy -A -l app.kubernetes.io/managed-by -o jsonpath="$want" | sort > "$WORK/deploys"
  kubectl get svc -A -l app.kubernetes.io/managed-by -o jsonpath="$want" | sort > "$WORK/svcs"
  check "every Function ($total) has its Deployment, and there are no others" diff -q "$WORK/fns" "$WORK/deploys"
  check "every Function ($total) has its Service, and there are no others" diff -q "$WORK/fns" "$WORK/svcs"
  check "every Deployment has exactly one ReplicaSet (no rollout repeated)" \
    one_each "$total" rs '{.metadata.ownerReferences[0].name}'
  check "every Function has exactly one pod, Running (kwok)" \
    one_each "$total" pods '{.metadata.labels.functions\.cwasi\.io/name}' --field-selector status.phase=Running
}

start_operator "$WORK/operator-1.log" || die "the operator starts (--workers $WORKERS)" "$WORK/operator-1.log"
pass "the operator starts (--workers $WORKERS, out of cluster)"

# --- phase 1: N Functions -> all Ready -------------------------------------
echo "phase 1: $N Functions in $NAMESPACES namespaces, $CHUNKS parallel kubectl creates"
write_functions scale
t0=$(now_ms)
create_chunks scale 0 $((CHUNKS - 1)) || { tail -5 "$WORK/create.log"; die "$N Functions are created"; }
created_ms=$(($(now_ms) - t0))
check "all $N Functions become Ready" wait_ready scale "$N"
ready_ms=$(($(now_ms) - t0))
op1_cpu=$(cpu_s "$op_pid") op1_rss=$(hwm_mb "$op_pid") op1_rec=$(reconciles)
api_cpu=$(cpu_s "$api_pid") etcd_cpu=$(cpu_s "$etcd_pid") kcm_cpu=$(cpu_s "$kcm_pid")
sched_cpu=$(cpu_s "$sched_pid") kwok_cpu=$(cpu_s "$kwok_pid")
check_objects

# --- phase 2: N more, the operator killed half-way -------------------------
echo "phase 2: $N more Functions; the operator gets SIGKILL once half are created"
deploy_uids() { kubectl get deploy -A -l app.kubernetes.io/managed-by \
  -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name} {.metadata.uid}{"\n"}{end}' | grep '^scale-' | sort; }
deploy_uids > "$WORK/uids-before"
write_functions restart
half=$((CHUNKS / 2))
t0=$(now_ms)
create_chunks restart 0 $((half - 1)) || { tail -5 "$WORK/create.log"; die "the first half is created"; }
kill_ms=$(($(now_ms) - t0))
at_kill_deploys=$(kubectl get deploy -A -l app.kubernetes.io/managed-by \
  -o jsonpath='{range .items[*]}{.metadata.namespace}{"\n"}{end}' | grep -c '^restart-')
at_kill_ready=$(ready_count restart)
kill -KILL "$op_pid"
wait "$op_pid" 2> /dev/null
create_chunks restart "$half" $((CHUNKS - 1)) > /dev/null &
second_half=$!
pids+=("$second_half")
start_operator "$WORK/operator-2.log" || die "the operator starts again" "$WORK/operator-2.log"
wait "$second_half" || { tail -5 "$WORK/create.log"; die "the second half is created"; }
check "all $((2 * N)) Functions are Ready after the restart" wait_ready all $((2 * N))
restart_ms=$(($(now_ms) - t0))
op2_cpu=$(cpu_s "$op_pid") op2_rss=$(hwm_mb "$op_pid") op2_rec=$(reconciles)
check_objects
deploy_uids > "$WORK/uids-after"
check "the restarted operator replaced none of the first $N Deployments (same UIDs)" \
  diff -q "$WORK/uids-before" "$WORK/uids-after"
if grep -q '"level":"error"\|ERROR' "$WORK/operator-1.log" "$WORK/operator-2.log"; then
  echo "  (the operator logged errors:)"
  grep -h '"level":"error"\|ERROR' "$WORK/operator-1.log" "$WORK/operator-2.log" | sort | uniq -c | sort -rn | head -5
fi

# --- the numbers ------------------------------------------------------------
rate=$(awk -v n="$N" -v ms="$ready_ms" 'BEGIN {printf "%.1f", n * 1000 / ms}')
cat << EOF

== operator scale: $N Functions, $NODES kwok nodes, --workers $WORKERS ==
phase 1  create -> all $N Ready:   $(secs "$ready_ms") s ($rate Functions/s; the creates took $(secs "$created_ms") s)
         operator CPU:             $op1_cpu s (user + system since its start)
         operator peak RSS:        $op1_rss MB (VmHWM)
         Function reconciles:      $op1_rec
         control plane CPU:        apiserver $api_cpu s, etcd $etcd_cpu s, controller-manager $kcm_cpu s, scheduler $sched_cpu s, kwok $kwok_cpu s (since start)
phase 2  SIGKILL after $((N / 2)) created ($(secs "$kill_ms") s; $at_kill_deploys had a Deployment, $at_kill_ready Ready), restart
         create -> all $((2 * N)) Ready:   $(secs "$restart_ms") s
         restarted operator CPU:   $op2_cpu s, peak RSS $op2_rss MB; reconciles $op2_rec
EOF
echo "SCALE functions=$N nodes=$NODES workers=$WORKERS ready_s=$(secs "$ready_ms") rate=$rate create_s=$(secs "$created_ms") op_cpu_s=$op1_cpu op_rss_mb=$op1_rss restart_s=$(secs "$restart_ms") restart_cpu_s=$op2_cpu restart_rss_mb=$op2_rss at_kill_deploys=$at_kill_deploys at_kill_ready=$at_kill_ready"
if [[ -n "${CWASI_SCALE_OUT:-}" ]]; then
  cat > "$CWASI_SCALE_OUT" << EOF
| measure | value |
|---|---|
| Functions / fake nodes / operator workers | $N / $NODES / $WORKERS |
| create -> all $N Ready | $(secs "$ready_ms") s |
| throughput (Functions reconciled to Ready) | $rate /s |
| kubectl creates ($CHUNKS in parallel) | $(secs "$created_ms") s |
| operator CPU (user + system) | $op1_cpu s |
| operator peak RSS (VmHWM) | $op1_rss MB |
| Function reconciles | $op1_rec |
| control plane CPU | apiserver $api_cpu s, etcd $etcd_cpu s, controller-manager $kcm_cpu s, scheduler $sched_cpu s, kwok $kwok_cpu s |
| restart: SIGKILL after $((N / 2)) more created | $at_kill_deploys had a Deployment, $at_kill_ready Ready |
| restart: create -> all $((2 * N)) Ready | $(secs "$restart_ms") s |
| restarted operator CPU / peak RSS | $op2_cpu s / $op2_rss MB |
EOF
fi
