#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The cwasi operator end to end, on a real two-node cluster this test starts
# (make cluster's stack: deploy/ applied, operator and node agents running):
# Functions and Workflows declared with kubectl, answered through their
# Services, scaled, rolled to a new image under load, deleted; a Workflow in
# each placement against its steps called by hand, with the entry pod's shim
# counting its calls in the mode the placement promises.
#
#   test/kubernetes/operator_test.sh BUILD_DIR
#
# Ends with "N passed, M failed"; exits non-zero on any failure.
NODES=2
# shellcheck source=harness.sh
. "$(dirname "$0")/harness.sh"
push reverse || fail "reverse image pushed"

fn() {  # fn NAME IMAGE [SPEC LINES...]: apply a Function
  local name=$1 image=$2; shift 2
  kubectl apply -f - > /dev/null <<YAML
apiVersion: cwasi.io/v1alpha1
kind: Function
metadata: {name: $name}
spec:
  image: $image
$(for l in "$@"; do echo "  $l"; done)
YAML
}
ready() { kubectl wait --for=condition=Ready "$1" --timeout="${2:-90s}" > /dev/null || { kubectl describe "$1" | tail -25; return 1; }; }
svc_ip() { kubectl get svc "$1" -o jsonpath='{.spec.clusterIP}'; }
post() {  # post SERVICE BODY: the Service's answer on port 80
  curl -sf -m 10 --data-binary "$2" "http://$(svc_ip "$1")/"
}
answers() {  # answers SERVICE BODY WANT (kube-proxy may take a second for a new Service)
  local out
  for _ in $(seq 20); do
    out=$(post "$1" "$2") && [[ "$out" == "$3" ]] && return 0
    sleep 0.5
  done
  echo "got '$out', want '$3'"
  return 1
}

check "the operator and the node agents run (make cluster's stack)" \
  kubectl -n cwasi-system rollout status deployment/cwasi-operator --timeout=5s
shim_installed() {
  local n
  for n in 1 2; do
    cmp -s "$BUILD_DIR/bin/containerd-shim-cwasi-v1" "/run/cwasi-cluster/node-$n/bin/containerd-shim-cwasi-v1" ||
      { echo "node-$n has no (or another) shim"; return 1; }
  done
}
check "the node agents installed the shim on both nodes" shim_installed

# --- a Function -------------------------------------------------------------
fn upper "$REG/fn/upper:test"
check "kubectl apply a Function: Ready" ready fn/upper
check "it answers through its Service" answers upper "hello operator" "HELLO OPERATOR"
status_complete() {
  local s
  s=$(kubectl get fn upper -o jsonpath='{.status.url} {.status.imageDigest} {.status.readyReplicas} {.status.observedGeneration}')
  [[ "$s" =~ ^http://upper\.default\.svc\.cluster\.local\ sha256:[0-9a-f]{64}\ 1\ 1$ ]] || { echo "status: $s"; return 1; }
}
check "its status: URL, image digest, ready replicas, observed generation" status_complete
owned() { [[ "$(kubectl get "$1" -o jsonpath='{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}')" == "Function/$2" ]]; }
check "its Deployment and Service are owned by it" eval 'owned deployment/upper upper && owned service/upper upper'
runtime_class() { [[ "$(kubectl get deployment upper -o jsonpath='{.spec.template.spec.runtimeClassName}')" == cwasi ]]; }
check "its pods run in the cwasi runtime class" runtime_class

kubectl scale fn/upper --replicas=2 > /dev/null
two_ready() {
  for _ in $(seq 120); do
    [[ "$(kubectl get fn upper -o jsonpath='{.status.readyReplicas}')" == 2 ]] && return 0
    sleep 0.5
  done
  kubectl get fn upper -o yaml | tail -30; return 1
}
check "kubectl scale fn/upper --replicas=2: two ready replicas" two_ready

repaired() {
  local uid
  uid=$(kubectl get deployment upper -o jsonpath='{.metadata.uid}')
  kubectl delete deployment upper --wait=false > /dev/null
  for _ in $(seq 60); do
    local now; now=$(kubectl get deployment upper -o jsonpath='{.metadata.uid}' 2> /dev/null)
    [[ -n "$now" && "$now" != "$uid" ]] && return 0
    sleep 0.5
  done
  return 1
}
check "a deleted Deployment is recreated (drift repair)" repaired
check "... and the Function is Ready again" ready fn/upper

# A new image rolls out under load with no failed request: upper -> reverse.
load() {  # load SERVICE SECONDS: one request after another, "CODE BODY" per line
  local ip end; ip=$(svc_ip "$1"); end=$((SECONDS + $2))
  while ((SECONDS < end)); do
    curl -s -m 5 -o "$WORK/body" -w '%{http_code}' --data-binary "roll" "http://$ip/" || true
    echo " $(cat "$WORK/body" 2> /dev/null)"
    rm -f "$WORK/body"
  done
}
load upper 40 > "$WORK/load" &
loader=$!
sleep 3
kubectl patch fn upper --type=merge -p "{\"spec\":{\"image\":\"$REG/fn/reverse:test\"}}" > /dev/null
rolled() {
  for _ in $(seq 120); do
    [[ "$(kubectl get deployment upper -o jsonpath='{.status.updatedReplicas}/{.status.readyReplicas}/{.status.replicas}')" == 2/2/2 ]] &&
      [[ "$(kubectl get fn upper -o jsonpath='{.status.conditions[?(@.type=="Progressing")].reason}')" == Complete ]] && return 0
    sleep 0.5
  done
  kubectl get deployment upper -o wide; return 1
}
check "an image update rolls the Function's pods" rolled
wait "$loader"
no_failed_request() {
  local total bad
  total=$(wc -l < "$WORK/load")
  bad=$(grep -cvE '^200 (ROLL|llor)$' "$WORK/load")
  echo "    $total requests during the rollout: $(grep -c '^200 ROLL$' "$WORK/load") old, $(grep -c '^200 llor$' "$WORK/load") new, $bad failed"
  if ! ((total > 20 && bad == 0)) || ! grep -q '^200 llor$' "$WORK/load"; then
    grep -vE '^200 (ROLL|llor)$' "$WORK/load" | sort | uniq -c | head; return 1
  fi
}
check "no request failed during the rolling update" no_failed_request

bad_function_refused() {
  local out
  out=$(fn bad x "memory: 12XB" 2>&1) && return 1
  grep -q "spec.memory" <<< "$out" || { echo "$out"; return 1; }
}
check "kubectl apply of a bad memory quantity is refused naming spec.memory" bad_function_refused

kubectl delete fn upper --wait=true > /dev/null
gone() {
  for _ in $(seq 60); do
    kubectl get deployment/upper service/upper > /dev/null 2>&1 ||
      { [[ -z "$(kubectl get pods -l functions.cwasi.io/name=upper -o name)" ]] && return 0; }
    sleep 0.5
  done
  kubectl get deployment,service,pods -l functions.cwasi.io/name=upper; return 1
}
check "kubectl delete fn: its Deployment, Service and pods are gone" gone

# --- Workflows: each placement against the steps called by hand --------------
fn upper "$REG/fn/upper:test"
fn reverse "$REG/fn/reverse:test"
if ! ready fn/upper || ! ready fn/reverse; then fail "the step Functions are Ready"; fi
by_hand=""
for _ in $(seq 20); do  # kube-proxy may take a second for the new Services
  by_hand=$(post reverse "$(post upper "compose me")") && [[ -n "$by_hand" ]] && break
  sleep 0.5
done
[[ "$by_hand" == "EM ESOPMOC" ]] || fail "the steps by hand give 'EM ESOPMOC' (got '$by_hand')"

workflow() {  # workflow NAME PLACEMENT
  kubectl apply -f - > /dev/null <<YAML
apiVersion: cwasi.io/v1alpha1
kind: Workflow
metadata: {name: $1}
spec:
  sequence: [upper, reverse]
  placement: $2
YAML
}
entry_metrics() {  # the entry pod's shim's metrics
  local ip
  ip=$(kubectl get pods -l workflows.cwasi.io/name="$1",workflows.cwasi.io/role=entry -o jsonpath='{.items[0].status.podIP}')
  curl -s -m 5 "http://$ip:8080/_/metrics"
}
counted() {  # counted WORKFLOW MODE: the entry's shim made calls in MODE, none in the others
  local out; out=$(entry_metrics "$1")
  grep -qE "^cwasi_comm_calls_total\{mode=\"$2\"\} [1-9]" <<< "$out" || { grep cwasi_comm_calls <<< "$out"; return 1; }
  ! grep -E '^cwasi_comm_calls_total\{mode="[a-z]+"\} [1-9]' <<< "$out" | grep -qv "mode=\"$2\"" ||
    { grep cwasi_comm_calls <<< "$out"; return 1; }
}
nodes_of() {  # the nodes of a workflow's pods with ROLE
  kubectl get pods -l workflows.cwasi.io/name="$1",workflows.cwasi.io/role="$2" -o jsonpath='{.items[*].spec.nodeName}' |
    tr ' ' '\n' | sort -u | tr '\n' ' '
}
placed() {  # placed WORKFLOW PLACEMENT
  local entry steps; entry=$(nodes_of "$1" entry) steps=$(nodes_of "$1" step)
  case $2 in
    pod) [[ -z "$steps" ]] ;;
    node) [[ "$steps" == "$entry" ]] ;;
    spread) [[ -n "$steps" && "$steps" != *"${entry% }"* ]] ;;
  esac || { echo "entry on $entry, steps on $steps"; return 1; }
}
for p in pod node spread; do
  mode=$(case $p in pod) echo embedded ;; node) echo local ;; spread) echo remote ;; esac)
  workflow "pipe-$p" "$p"
  check "Workflow placement $p: Ready" ready "wf/pipe-$p" 120s
  check "... its status shows every edge $mode" eval \
    "[[ \"\$(kubectl get wf pipe-$p -o jsonpath='{.status.edges[*].mode}')\" == \"$mode $mode\" ]]"
  check "... its pods are placed for $mode calls" placed "pipe-$p" "$p"
  check "... it answers as the steps called by hand" answers "pipe-$p-workflow" "compose me" "$by_hand"
  check "... the entry pod's shim counts its calls as $mode" counted "pipe-$p" "$mode"
done
missing_step() {
  kubectl apply -f - > /dev/null <<YAML
apiVersion: cwasi.io/v1alpha1
kind: Workflow
metadata: {name: lost}
spec: {sequence: [upper, nowhere]}
YAML
  for _ in $(seq 40); do
    [[ "$(kubectl get wf lost -o jsonpath='{.status.conditions[?(@.type=="Degraded")].reason}')" == FunctionNotFound ]] && return 0
    sleep 0.5
  done
  kubectl get wf lost -o yaml | tail -20; return 1
}
check "a Workflow calling a missing Function is Degraded: FunctionNotFound" missing_step
kubectl delete wf --all --wait=true > /dev/null
kubectl delete fn --all --wait=true > /dev/null
