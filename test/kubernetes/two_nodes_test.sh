#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# cwasi across two nodes: node-2 runs in its own network namespace, so a call
# from a pod on node-1 to a function in a pod on node-2 crosses a real network
# boundary — remote mode, through the cluster map (kept by the node agent
# from the EndpointSlices of a Service labelled cwasi.io/function) to the
# pod's CWASI_COMM_PORT.
#
#   test/kubernetes/two_nodes_test.sh BUILD_DIR
#
# Ends with "N passed, M failed"; exits non-zero on any failure.
NODES=2
# shellcheck source=harness.sh
. "$(dirname "$0")/harness.sh"
push call || fail "call image pushed"

kubectl apply -f - > /dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: far, labels: {app: far}}
spec:
  runtimeClassName: cwasi
  nodeName: node-2
  containers:
  - name: upper
    image: $REG/fn/upper:test
    env: [{name: CWASI_FUNCTION, value: far}, {name: CWASI_COMM_PORT, value: "7070"}]
YAML
check "a Wasm pod runs on node-2" waitPhase far Running
kubectl apply -f - > /dev/null <<YAML
apiVersion: v1
kind: Service
metadata: {name: far, labels: {cwasi.io/function: far}}
spec:
  clusterIP: None
  selector: {app: far}
  ports: [{name: comm, port: 7070}]
YAML
ip=$(kubectl get pod far -o jsonpath='{.status.podIP}')
mapped() {  # node-1's agent maps far to its pod on node-2; node-2's does not (its own pod)
  local m1 m2
  for _ in $(seq 40); do
    m1=$(cat /run/cwasi-cluster/node-1/cwasi/cluster.json 2> /dev/null)
    m2=$(cat /run/cwasi-cluster/node-2/cwasi/cluster.json 2> /dev/null)
    grep -q "\"far\": *\"$ip:7070\"" <<< "$m1" && [[ -n "$m2" ]] && ! grep -q far <<< "$m2" && return 0
    sleep 0.5
  done
  echo "node-1: $m1"; echo "node-2: $m2"; return 1
}
check "the node agents map far from its EndpointSlice (node-1: its pod; node-2: none, the pod is local)" mapped

caller_pod near node-1 far "across nodes"
check "a pod on node-1 calls a function in a pod on node-2 (remote, through the cluster map)" \
  logs_become near caller "ACROSS NODES"
not_local() { [[ ! -e /run/cwasi-cluster/node-1/cwasi/functions/far.json ]]; }
check "node-1's registry does not list the function (so the call was remote)" not_local
remote_bytes_counted() {
  local out
  out=$(pod_metrics near)
  if ! grep -qE '^cwasi_comm_calls_total\{mode="remote"\} [1-9]' <<< "$out" ||
    ! grep -qE '^cwasi_comm_bytes_total\{direction="out",mode="remote"\} [1-9]' <<< "$out"; then
    grep cwasi_comm <<< "$out"; return 1
  fi
}
check "the calling pod's shim counts the remote call and its bytes (/_/metrics)" remote_bytes_counted
kubectl delete pod far near --wait=true > /dev/null 2>&1
kubectl delete service far > /dev/null 2>&1
