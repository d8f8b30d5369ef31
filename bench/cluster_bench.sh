# Sourced by the cluster benchmarks (kubernetes_bench.sh, operator_bench.sh)
# with BUILD_DIR and REPS as $1 and $2: the local cluster (started, and
# stopped again on exit, when none is up), kubectl on PATH, the images they
# deploy in the registry (hello.wasm as $REG/bench/hello-wasm:1, the static
# native hello HTTP server as $REG/cwasi/hello-http:1), and `ms`. On exit,
# everything labelled cwasi-bench=1 is deleted.
# shellcheck shell=bash
set -uo pipefail
BUILD_DIR=$(cd "${1:?usage: $(basename "$0") BUILD_DIR REPS}" && pwd)
# shellcheck disable=SC2034  # read by the benchmarks that source this file
REPS=${2:-5}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLUSTER="$ROOT/scripts/cluster.sh"
REG=127.0.0.1:5000
started=0
if ! BUILD_DIR="$BUILD_DIR" "$CLUSTER" status > /dev/null 2>&1; then
  up_log=$(mktemp)
  BUILD_DIR="$BUILD_DIR" "$CLUSTER" up 1 > "$up_log" 2>&1 || { tail "$up_log" >&2; rm -f "$up_log"; exit 1; }
  rm -f "$up_log"
  started=1
fi
cleanup() {
  kubectl delete fn,deploy,svc -l cwasi-bench=1 --wait=true > /dev/null 2>&1
  [[ $started -eq 1 ]] && BUILD_DIR="$BUILD_DIR" "$CLUSTER" down > /dev/null 2>&1
}
trap cleanup EXIT
# shellcheck disable=SC1091
. "$BUILD_DIR/cluster/env"

tmp=$(mktemp -d)
"$BUILD_DIR/bin/cwasi" image build "$BUILD_DIR/functions/hello.wasm" -t "$REG/bench/hello-wasm:1" \
  -o "$tmp/hello.tar" > /dev/null && "$BUILD_DIR/bin/cwasi" image push "$tmp/hello.tar" "$REG/bench/hello-wasm:1" > /dev/null
BUILD_DIR="$BUILD_DIR" "$CLUSTER" push-native cwasi/hello-http:1 "$ROOT/scripts/cluster/hello-http.c" hello-http > /dev/null
rm -rf "$tmp"

ms() { date +%s%3N; }

# apply_deployment NAME IMAGE REPLICAS RUNTIME_CLASS_LINE ENV_LINE: a
# Deployment labelled cwasi-bench=1 (deleted on exit), pods `app: NAME`, one
# container; RUNTIME_CLASS_LINE is "runtimeClassName: cwasi" or "", ENV_LINE
# a container `env:` line or "". Pods of both runtimes have, as the
# operator's Functions do, no service account token (its projected volume
# delays every start by ~0.2 s) and no service links.
apply_deployment() {
  kubectl apply -f - > /dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: $1, labels: {cwasi-bench: "1"}}
spec:
  replicas: $3
  selector: {matchLabels: {app: $1}}
  template:
    metadata: {labels: {app: $1}}
    spec:
      $4
      automountServiceAccountToken: false
      enableServiceLinks: false
      terminationGracePeriodSeconds: 1
      containers:
      - name: app
        image: $2
        $5
YAML
}

# A new pod's IP is taken from CNI's IPAM (host-local's files), not from the
# pod status, which kubelet updates only on its next relist (about every
# second).
IPAM="$BUILD_DIR/cluster/node-1/cni/ipam"
ips_in_use() {  # the IPs host-local has handed out, each followed by a space
  local f
  for f in "$IPAM"/*/10.*; do [[ -e "$f" ]] && printf '%s ' "${f##*/}"; done
  return 0
}

# first_pod_answer IPS_IN_USE_BEFORE [EXPECTED]: polls each new pod IP on
# port 8080 and prints when one first answered — any 2xx to a GET, or, with
# EXPECTED, exactly EXPECTED to a POST of `{}` ("wrong" for another answer);
# "timeout" after 3 minutes.
first_pod_answer() {
  local ip f got give_up=$(($(ms) + 180000))
  while [[ $(ms) -lt $give_up ]]; do
    for f in "$IPAM"/*/10.*; do
      [[ -e "$f" ]] || continue
      ip=${f##*/}
      [[ " $1 " == *" $ip "* ]] && continue  # another pod's
      if [[ $# -lt 2 ]]; then
        if curl -sf -m 1 -o /dev/null "http://$ip:8080/"; then ms; return; fi
      else
        got=$(curl -sf -m 5 -d '{}' "http://$ip:8080/") || continue
        [[ "$got" == "$2" ]] && { ms; return; }
        echo "wrong answer from $ip: $got" >&2; echo wrong; return
      fi
    done
    sleep 0.01
  done
  echo timeout
}
