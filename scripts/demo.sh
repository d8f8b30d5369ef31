#!/usr/bin/env bash
# The main job on the embedded default: starts cwasid (the node daemon) in the
# foreground, deploys the example functions and one workflow through the CLI,
# shows a few invocations, and prints ready-to-paste curl / cwasi lines.
# Ctrl-C stops the daemon. Settings: CWASI_DEMO_ADDR (127.0.0.1:8080),
# CWASI_STATE_DIR (<build>/cwasid-state).
set -euo pipefail
BUILD_DIR=$(cd "${1:-build}" && pwd)
ADDR=${CWASI_DEMO_ADDR:-127.0.0.1:8080}
export CWASI_STATE_DIR=${CWASI_STATE_DIR:-$BUILD_DIR/cwasid-state}
export CWASI_GATEWAY="http://$ADDR"
CWASI="$BUILD_DIR/bin/cwasi"
FN="$BUILD_DIR/functions"
REPO=$(cd "$(dirname "$0")/.." && pwd)

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }

"$BUILD_DIR/bin/cwasid" --gateway "$ADDR" --state-dir "$CWASI_STATE_DIR" &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon 2>/dev/null' EXIT
trap 'exit 0' INT TERM
for _ in $(seq 100); do
  curl -fsS "$CWASI_GATEWAY/healthz" >/dev/null 2>&1 && break
  kill -0 $daemon 2>/dev/null || { echo "cwasid did not start (is $ADDR in use?)" >&2; exit 1; }
  sleep 0.1
done
CWASI_ADMIN_TOKEN=$(cat "$CWASI_STATE_DIR/token")
export CWASI_ADMIN_TOKEN

bold "deploying the example functions (cwasi deploy NAME MODULE)"
for f in hello echo upper reverse wc env-args sleep noop redirect; do
  "$CWASI" deploy "$f" "$FN/$f.wasm" | head -1
done
"$CWASI" deploy content-type "$FN/content-type.wasm" --annotation cwasi.io/response=cgi | head -1
"$CWASI" deploy upper-zero "$FN/upper.wasm" --min-scale 0 --scale-to-zero-after 30s | head -1
"$CWASI" workflow deploy "$REPO/examples/shout.yaml"

bold "a few invocations"
set -x
curl -sS "$CWASI_GATEWAY/function/hello"
curl -sS -d 'make me loud' "$CWASI_GATEWAY/function/upper"; echo
echo 'one two three' | "$CWASI" invoke wc
curl -sS -d 'Hello' "$CWASI_GATEWAY/workflow/shout"; echo
set +x
"$CWASI" ls

cat <<MSG

$(printf '\033[1m')cwasid is serving on $CWASI_GATEWAY (state: $CWASI_STATE_DIR). Ctrl-C stops it.$(printf '\033[0m')
Paste these in another terminal:

  export CWASI_GATEWAY=$CWASI_GATEWAY CWASI_ADMIN_TOKEN=$CWASI_ADMIN_TOKEN
  curl -sS -d 'hello' $CWASI_GATEWAY/function/upper
  curl -sS -d 'hello' $CWASI_GATEWAY/workflow/shout
  curl -sS -X PUT -H 'X-Trace: 1' -d '' '$CWASI_GATEWAY/function/env-args/some/path?q=1'
  curl -sS -i -d 'wake up' $CWASI_GATEWAY/function/upper-zero     # X-Cold-Start after 30 s idle
  curl -sS -i -d 'https://example.org/' $CWASI_GATEWAY/function/redirect   # 302 + Location
  curl -sS -i -d 'hello' $CWASI_GATEWAY/function/content-type           # CGI output: text/html
  curl -sS -i -H 'X-Callback-Url: http://127.0.0.1:9999/' -d 'later' $CWASI_GATEWAY/async-function/upper
  curl -sS -H "Authorization: Bearer \$CWASI_ADMIN_TOKEN" $CWASI_GATEWAY/system/functions
  curl -sS $CWASI_GATEWAY/metrics | grep -E '^(gateway|cwasi)_'
  echo 'some text' | $CWASI invoke reverse
  $CWASI scale upper --replicas 3 && $CWASI ls
  $CWASI logs upper
  $CWASI deploy mine $FN/echo.wasm --env KEY=value --memory 32Mi --timeout 2s
  $CWASI rm mine
MSG
wait $daemon
