# Sourced by the cluster benchmarks (kubernetes_bench.sh, operator_bench.sh)
# with BUILD_DIR and REPS as $1 and $2: the local cluster (started, and
# stopped again on exit, when none is up), kubectl on PATH, the images they
# deploy in the registry (hello.wasm as $REG/bench/hello-wasm:1, the static
# native hello HTTP server as $REG/cwasi/hello-http:1), and `ms`. On exit,
# everything labelled cwasi-bench=1 is deleted.
# shellcheck shell=bash
set -uo pipefail
BUILD_DIR=$(cd "${1:?usage: $(basename "$0") BUILD_DIR REPS}" && pwd)
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
