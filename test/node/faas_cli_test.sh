#!/usr/bin/env bash
# The real OpenFaaS CLI (faas-cli 0.18.12, ../shared/tools/faas-cli or
# $FAAS_CLI) against a cwasid this test starts: every everyday command, each
# with its exit code and what it prints. Leaves nothing behind: the daemon
# (stopped by its PID), its state and faas-cli's config live in a temp dir.
# Usage: faas_cli_test.sh BUILD_DIR
set -uo pipefail
BUILD_DIR=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# $FAAS_CLI, else the one beside the clone's shared folder, the machine's, or PATH's.
FAAS=${FAAS_CLI:-}
for candidate in "$ROOT/../shared/tools/faas-cli" /work/shared/tools/faas-cli "$(command -v faas-cli)"; do
  [[ -z "$FAAS" && -n "$candidate" && -x "$candidate" ]] && FAAS=$candidate
done
FN=$BUILD_DIR/functions
WORK=$(mktemp -d /tmp/cwasi-faas-cli.XXXXXX)
passed=0 failed=0
pid=""

cleanup() {
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

if [[ -z "$FAAS" || ! -x "$FAAS" ]]; then
  echo "FAIL: faas-cli not found (../shared/tools/faas-cli beside the clone; or set FAAS_CLI)"
  echo "0 passed, 1 failed"
  exit 1
fi

# expect NAME WANT_RC PATTERN COMMAND...: runs it (stdout and stderr in
# $out), checks its exit code and that the output matches the extended regex
# (an empty pattern checks the code only).
out=""
expect() {
  local name=$1 want=$2 pattern=$3
  shift 3
  out=$("$@" 2>&1)
  local rc=$?
  if [[ "$rc" != "$want" ]]; then
    echo "FAIL: $name: exit $rc, wanted $want; output:"; printf '  | %s\n' "${out//$'\n'/$'\n'  | }"
    failed=$((failed + 1))
  elif [[ -n "$pattern" ]] && ! grep -Eq -- "$pattern" <<<"$out"; then
    echo "FAIL: $name: output does not match /$pattern/:"; printf '  | %s\n' "${out//$'\n'/$'\n'  | }"
    failed=$((failed + 1))
  else
    echo "PASS: $name"
    passed=$((passed + 1))
  fi
}
# refute NAME PATTERN: the last command's output does not match.
refute() {
  if grep -Eq -- "$2" <<<"$out"; then
    echo "FAIL: $1: output matches /$2/"; failed=$((failed + 1))
  else
    echo "PASS: $1"; passed=$((passed + 1))
  fi
}

"$BUILD_DIR/bin/cwasid" --gateway 127.0.0.1:0 --state-dir "$WORK/state" --runtime-dir "$WORK/run" \
  --admin-token faas-test-token --log-follow-timeout-ms 2000 >"$WORK/cwasid.out" 2>"$WORK/cwasid.err" &
pid=$!
for _ in $(seq 100); do
  grep -q "gateway=" "$WORK/cwasid.out" 2>/dev/null && break
  sleep 0.1
done
URL=$(grep -o 'gateway=http://[0-9.:]*' "$WORK/cwasid.out" | head -1 | cut -d= -f2)
if [[ -z "$URL" ]]; then
  echo "FAIL: cwasid did not start:"; cat "$WORK/cwasid.err"
  echo "0 passed, 1 failed"
  exit 1
fi
export HOME=$WORK/home OPENFAAS_URL=$URL
mkdir -p "$HOME"
faas() { "$FAAS" "$@"; }

# Login: Basic auth as admin with the token as password.
expect "login with a wrong password fails" 1 "" sh -c "echo wrong | '$FAAS' login --password-stdin"
expect "login" 0 "credentials saved for admin" sh -c "echo faas-test-token | '$FAAS' login --password-stdin"
expect "version names cwasid and its commit" 0 "sha: +[0-9a-f]{40}" faas version --warn-update=false
if grep -q "name: *cwasid" <<<"$out"; then echo "PASS: version provider"; passed=$((passed + 1))
else echo "FAIL: version provider: $out"; failed=$((failed + 1)); fi
expect "namespace list" 0 "openfaas-fn" faas namespace list
expect "ready (the gateway)" 0 "ready" faas ready --attempts 5

# Secrets first: the functions below name one.
expect "secret create" 0 "Created: 201" faas secret create db-pass --from-literal hunter2
expect "secret create again is refused (faas-cli exits 0)" 0 "already exists" faas secret create db-pass --from-literal x
printf 'from a file' >"$WORK/token.txt"
expect "secret create --from-file" 0 "Created: 201" faas secret create api-token --from-file "$WORK/token.txt"
expect "secret list" 0 "db-pass" faas secret list
refute "secret list never shows a value" "hunter2"
expect "secret update" 0 "Updated: 200" faas secret update db-pass --from-literal "correct horse"

# Deploy with flags; the image gets faas-cli's ":latest".
expect "deploy with flags" 0 "Deployed" faas deploy --image "$FN/upper.wasm" --name upper \
  --env GREETING=hi --label team=a --annotation note=x --memory-limit 64Mi --cpu-limit 500m \
  --memory-request 32Mi --readonly
expect "deploy a secret reader" 0 "Deployed" faas deploy --image "$FN/secret-reader.wasm" \
  --name reader --secret db-pass --secret api-token
expect "deploy --constraint is refused, naming it" 1 "constraints" faas deploy \
  --image "$FN/upper.wasm" --name placed --constraint "node.platform.os == linux"
expect "deploy of a missing secret is refused" 1 "no-such" faas deploy --image "$FN/upper.wasm" \
  --name nosecret --secret no-such
expect "deploy in another namespace is refused" 1 "namespace" faas deploy \
  --image "$FN/upper.wasm" --name other -n team-a

cat >"$WORK/stack.yml" <<EOF
version: 1.0
provider:
  name: openfaas
  gateway: $URL
functions:
  rev:
    image: $FN/reverse.wasm
    environment:
      MODE: fast
    labels:
      com.openfaas.scale.min: "1"
      com.openfaas.scale.max: "4"
    limits:
      memory: 64Mi
EOF
expect "deploy -f stack.yml" 0 "Deployed" faas deploy -f "$WORK/stack.yml"
# What was submitted comes back as submitted: the one difference diff sees is
# the faas_function label, which OpenFaaS's providers add to every function
# (faas-netes too) and faas-cli 0.18.12 does not leave out.
expect "diff: only the provider's faas_function label" 1 "label.faas_function: rev" \
  faas diff -f "$WORK/stack.yml"
refute "diff reports no false change of what was submitted" "memory|limit|MODE|image|scale"
sed -i 's/memory: 64Mi/memory: 128Mi/' "$WORK/stack.yml"
expect "diff: a changed memory limit" 1 "128Mi" faas diff -f "$WORK/stack.yml"

expect "list" 0 "upper" faas list
expect "list -v has creation times" 0 "upper .*[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+ \+0000 UTC" faas list -v
refute "list -v has no zero time" "0001-01-01"
expect "list -n openfaas-fn" 0 "rev" faas list -n openfaas-fn
expect "list -n of another namespace fails" 1 "namespace" faas list -n team-a
expect "describe echoes what was submitted" 0 "Memory: +64Mi" faas describe upper
if grep -Eq "CPU: +500m" <<<"$out" && grep -q "team: a" <<<"$out" && grep -q "Status: *Ready" <<<"$out"; then
  echo "PASS: describe cpu, labels, status"; passed=$((passed + 1))
else
  echo "FAIL: describe cpu, labels, status:"; echo "$out"; failed=$((failed + 1))
fi
expect "describe shows secrets" 0 "db-pass" faas describe reader
expect "ready (a function)" 0 "ready" faas ready upper --attempts 5
expect "ready (no such function)" 1 "not ready" faas ready nope --attempts 2 --interval 100ms

expect "invoke" 0 "^HELLO$" sh -c "printf hello | '$FAAS' invoke upper"
expect "invoke a secret" 0 "^correct horse$" sh -c "printf db-pass | '$FAAS' invoke reader"
expect "invoke a secret from a file" 0 "^from a file$" sh -c "printf api-token | '$FAAS' invoke reader"
expect "invoke --async" 0 "Function submitted asynchronously" sh -c "printf later | '$FAAS' invoke upper --async"
expect "invoke of no function" 1 "404|no function" sh -c "printf x | '$FAAS' invoke nope"

for _ in $(seq 50); do  # the async call's log line
  [[ $(faas logs upper --tail=false 2>/dev/null | grep -c "upper: ") -ge 2 ]] && break
  sleep 0.1
done
expect "logs (all, no follow)" 0 "upper: 5 bytes" faas logs upper --tail=false
lines=$(grep -c "upper: " <<<"$out")
if [[ "$lines" == 2 ]]; then echo "PASS: logs has both calls"; passed=$((passed + 1))
else echo "FAIL: logs has $lines lines, wanted 2: $out"; failed=$((failed + 1)); fi
expect "logs --lines 1" 0 "upper: 5 bytes" faas logs upper --tail=false --lines 1
if [[ $(grep -c "upper: " <<<"$out") == 1 ]]; then echo "PASS: one line"; passed=$((passed + 1))
else echo "FAIL: --lines 1 gave: $out"; failed=$((failed + 1)); fi
expect "logs --since 1h" 0 "upper: " faas logs upper --tail=false --since 1h
expect "logs --since-time in the future" 0 "" faas logs upper --tail=false --since-time 2199-01-01T00:00:00Z
refute "nothing from the future" "upper: "
expect "logs of no function" 1 "404.*no function nope" faas logs nope --tail=false
refute "logs of no function prints no lines" "upper: "
# Follow (faas-cli's default): what is there, then what comes, until the
# daemon's follow timeout (2 s here) ends the stream.
( sleep 0.7; printf 'followed' | "$FAAS" invoke upper >/dev/null 2>&1 ) &
invoker=$!
expect "logs (follow) ends at the follow timeout" 0 "upper: 8 bytes" timeout 20 "$FAAS" logs upper
wait "$invoker"

expect "secret remove of one in use is refused" 1 "used by reader" faas secret remove db-pass
expect "remove" 0 "Removing" faas remove reader
expect "secret remove" 0 "Removed" faas secret remove db-pass
expect "secret list after remove" 0 "api-token" faas secret list
refute "removed secret gone" "db-pass"
expect "remove of no function" 1 "No existing function to remove" faas remove nope
expect "remove -f stack.yml" 0 "Deleting: rev" faas remove -f "$WORK/stack.yml"
expect "list after removes" 0 "upper" faas list
refute "removed functions gone" "rev|reader"

echo "$passed passed, $failed failed"
[[ "$failed" == 0 ]]
