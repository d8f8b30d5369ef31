# The harness of the Kubernetes tests, sourced by each (NODES=1 or 2 set
# before): checks that count, a snapshot of what the cluster may touch on the
# host, the cluster brought up and — on exit, whatever happened — down again
# with the host compared to the snapshot, and helpers to push Wasm images and
# make pods. Ends the run with "N passed, M failed".
# shellcheck shell=bash
set -uo pipefail
BUILD_DIR=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
NODES=${NODES:-1}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLUSTER="$ROOT/scripts/cluster.sh"
REG=127.0.0.1:5000
WORK=$(mktemp -d /tmp/cwasi-k8s-test.XXXXXX)
passed=0 failed=0

pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() {  # check NAME COMMAND...
  local name=$1; shift
  if "$@"; then pass "$name"; else fail "$name"; fi
}

# What the cluster may touch on the host, to compare before and after.
snapshot() {
  {
    ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort
    ip netns list 2>/dev/null | awk '{print $1}' | sort
    iptables-save 2>/dev/null | grep -E '^[:-]' | sed 's/\[[0-9:]*\]//' | sort
    sysctl -n net.ipv4.ip_forward vm.overcommit_memory
    grep -E 'cwasi|kubelet|containerd' /proc/mounts | awk '{print $2}' | sort
    ls -d /var/log/pods /var/lib/kubelet /run/cwasi-cluster 2>/dev/null
  }
}

if [[ -e "$BUILD_DIR/cluster/pids" ]] && ls "$BUILD_DIR/cluster/pids"/* >/dev/null 2>&1; then
  echo "a cluster is already up in $BUILD_DIR/cluster: run 'make cluster-down' first" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
snapshot > "$WORK/before"

cleanup() {
  BUILD_DIR="$BUILD_DIR" "$CLUSTER" down > "$WORK/down.log" 2>&1 || cat "$WORK/down.log"
  snapshot > "$WORK/after"
  if diff "$WORK/before" "$WORK/after" > "$WORK/diff"; then
    pass "cluster-down leaves the host as it found it"
  else
    fail "cluster-down leaves the host as it found it:"; cat "$WORK/diff"
  fi
  echo "$passed passed, $failed failed"
  rm -rf "$WORK"
  [[ $failed -eq 0 ]]
}
trap 'cleanup; exit $?' EXIT

if ! BUILD_DIR="$BUILD_DIR" "$CLUSTER" up "$NODES" > "$WORK/up.log" 2>&1; then
  tail -30 "$WORK/up.log"
  fail "the cluster comes up"
  exit 1
fi
pass "the cluster comes up"
# shellcheck disable=SC1091
. "$BUILD_DIR/cluster/env"

push() {  # push FUNCTION: the module as a Wasm image in the registry
  "$BUILD_DIR/bin/cwasi" image build "$BUILD_DIR/functions/$1.wasm" -t "$REG/fn/$1:test" \
    -o "$WORK/$1.tar" > /dev/null &&
    "$BUILD_DIR/bin/cwasi" image push "$WORK/$1.tar" "$REG/fn/$1:test" > /dev/null
}
if ! push upper || ! push hello; then fail "Wasm images pushed to the registry"; fi

pod() {  # pod NAME IMAGE RESTART [COMMAND]
  local cmd=""
  [[ -n "${4:-}" ]] && cmd="    command: [\"$4\"]"
  kubectl apply -f - > /dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  runtimeClassName: cwasi
  restartPolicy: $3
  containers:
  - name: $1
    image: $2
$cmd
YAML
}
phase() { kubectl get pod "$1" -o jsonpath='{.status.phase}' 2>/dev/null; }
waitPhase() {  # waitPhase POD PHASE
  for _ in $(seq 60); do [[ "$(phase "$1")" == "$2" ]] && return 0; sleep 0.5; done
  kubectl describe pod "$1" | tail -15
  return 1
}

logs_become() {  # logs_become POD CONTAINER TEXT
  for _ in $(seq 60); do
    [[ "$(kubectl logs "$1" -c "$2" 2>/dev/null)" == "$3" ]] && return 0
    sleep 0.5
  done
  kubectl logs "$1" -c "$2" 2>&1 | tail -3
  return 1
}

event_says() {  # event_says POD TEXT: an event of POD says TEXT (within 30 s)
  for _ in $(seq 60); do
    kubectl get events --field-selector "involvedObject.name=$1" -o jsonpath='{.items[*].message}' |
      grep -q "$2" && return 0
    sleep 0.5
  done
  kubectl get events --field-selector "involvedObject.name=$1" -o jsonpath='{.items[*].message}'
  return 1
}

# caller_pod NAME NODE TARGET PAYLOAD: a pod on NODE whose `call` container
# calls TARGET once, beside a container whose HTTP trigger shows the pod
# shim's metrics (pod_metrics NAME).
caller_pod() {
  kubectl apply -f - > /dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  runtimeClassName: cwasi
  nodeName: $2
  restartPolicy: OnFailure
  containers:
  - name: caller
    image: $REG/fn/call:test
    args: [$3, "$4"]
  - name: metrics
    image: $REG/fn/hello:test
    env: [{name: CWASI_HTTP_PORT, value: "8080"}]
YAML
}
pod_metrics() {  # pod_metrics POD: its shim's Prometheus text (HTTP trigger on 8080)
  curl -s -m 5 "http://$(kubectl get pod "$1" -o jsonpath='{.status.podIP}'):8080/_/metrics"
}
