#!/usr/bin/env bash
# cwasi across two nodes: node-2 runs in its own network namespace, so a call
# from a pod on node-1 to a function in a pod on node-2 crosses a real network
# boundary — remote mode, through the cluster map (written here as the
# operator's node agent will) to the pod's CWASI_COMM_PORT.
#
#   test/kubernetes/two_nodes_test.sh BUILD_DIR
#
# Ends with "N passed, M failed"; exits non-zero on any failure.
NODES=2
. "$(dirname "$0")/harness.sh"
push call || fail "call image pushed"

kubectl apply -f - > /dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: far}
spec:
  runtimeClassName: cwasi
  nodeName: node-2
  containers:
  - name: upper
    image: $REG/fn/upper:test
    env: [{name: CWASI_FUNCTION, value: far}, {name: CWASI_COMM_PORT, value: "7070"}]
YAML
check "a Wasm pod runs on node-2" waitPhase far Running
ip=$(kubectl get pod far -o jsonpath='{.status.podIP}')
echo "{\"functions\": {\"far\": \"$ip:7070\"}}" > /run/cwasi-cluster/node-1/cwasi/cluster.json

caller_pod near node-1 far "across nodes"
check "a pod on node-1 calls a function in a pod on node-2 (remote, through the cluster map)" \
  logs_become near caller "ACROSS NODES"
not_local() { [[ ! -e /run/cwasi-cluster/node-1/cwasi/functions/far.json ]]; }
check "node-1's registry does not list the function (so the call was remote)" not_local
remote_bytes_counted() {
  local out
  out=$(pod_metrics near)
  grep -qE '^cwasi_comm_calls_total\{mode="remote"\} [1-9]' <<< "$out" &&
    grep -qE '^cwasi_comm_bytes_total\{direction="out",mode="remote"\} [1-9]' <<< "$out" ||
    { grep cwasi_comm <<< "$out"; return 1; }
}
check "the calling pod's shim counts the remote call and its bytes (/_/metrics)" remote_bytes_counted
kubectl delete pod far near --wait=true > /dev/null 2>&1
