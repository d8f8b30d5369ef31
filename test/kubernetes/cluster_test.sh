#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# cwasi under kubelet, on a real single-node cluster this test starts
# (scripts/cluster.sh up) and stops again, checking that the host is left as
# it was found. Real kubectl, containerd, kubelet; Wasm images pushed to the
# cluster's registry with `cwasi image build` + `cwasi image push`.
#
#   test/kubernetes/cluster_test.sh BUILD_DIR
#
# Ends with "N passed, M failed"; exits non-zero on any failure.
# shellcheck source=harness.sh
. "$(dirname "$0")/harness.sh"

# A reactor serves until killed: its pod runs, and the pid the shim reported
# for the pod's sandbox lives in the pod's network namespace, not the host's.
pod upper "$REG/fn/upper:test" Always
check "a Wasm pod (reactor) runs under kubelet" waitPhase upper Running
sandbox_in_pod_netns() {
  local p
  p=$(pgrep -x cwasi-pause | head -1) || return 1
  [[ -n "$p" && "$(readlink "/proc/$p/ns/net")" != "$(readlink /proc/self/ns/net)" ]]
}
check "the pod sandbox's process is in the pod's network namespace" sandbox_in_pod_netns
shim_is_confined() {
  local shim
  shim=$(pgrep -f "containerd-shim-cwasi-v1 .*-address /run/cwasi-cluster" | head -1) || return 1
  grep -q "^NoNewPrivs:[[:space:]]*1" "/proc/$shim/status" &&
    grep -q "^Seccomp:[[:space:]]*2" "/proc/$shim/status"
}
check "the pod's shim runs with no_new_privs and a seccomp filter" shim_is_confined
shim_in_pod_cgroup() {
  local shim uid
  shim=$(pgrep -f "containerd-shim-cwasi-v1 .*-address /run/cwasi-cluster" | head -1) || return 1
  uid=$(kubectl get pod upper -o jsonpath='{.metadata.uid}')
  grep -E "^[0-9]+:memory:.*kubepods.*pod${uid}" "/proc/$shim/cgroup" > /dev/null ||
    { cat "/proc/$shim/cgroup"; return 1; }
}
check "the pod's shim (and its guests) run in the pod's cgroup" shim_in_pod_cgroup
exec_is_refused_clearly() {
  local out
  out=$(kubectl exec upper -- ls 2>&1) && return 1
  grep -q "exec is not supported" <<< "$out" || { echo "$out"; return 1; }
}
check "kubectl exec answers a clear unsupported error" exec_is_refused_clearly

# A memory bomb is stopped at the pod's limit; kubelet restarts it and shows why.
push memory-bomb || fail "memory-bomb image pushed"
kubectl apply -f - > /dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: bomb}
spec:
  runtimeClassName: cwasi
  containers:
  - name: bomb
    image: $REG/fn/memory-bomb:test
    resources: {limits: {memory: 16Mi}}
YAML
bomb_stopped_and_restarted() {
  local code restarts
  for _ in $(seq 60); do
    code=$(kubectl get pod bomb -o jsonpath='{.status.containerStatuses[0].lastState.terminated.exitCode}')
    restarts=$(kubectl get pod bomb -o jsonpath='{.status.containerStatuses[0].restartCount}')
    [[ "$code" == 137 && "${restarts:-0}" -ge 1 ]] && return 0
    sleep 0.5
  done
  kubectl get pod bomb -o jsonpath='{.status.containerStatuses[0]}'; echo
  return 1
}
check "a memory bomb stops at the pod's limit (137) and the restart shows in the pod status" \
  bomb_stopped_and_restarted
bomb_says_why() {
  for _ in $(seq 20); do
    kubectl logs bomb 2>/dev/null | grep -q "memory limit of 16 MiB exceeded" && return 0
    sleep 0.5
  done
  return 1
}
check "kubectl logs says the memory limit was exceeded" bomb_says_why

# A command runs to its end: the pod completes and kubectl logs shows its stdout.
pod hello "$REG/fn/hello:test" Never
check "a Wasm pod (command) completes" waitPhase hello Succeeded
logs_show_stdout() { [[ "$(kubectl logs hello)" == "Hello from cwasi!" ]]; }
check "kubectl logs shows the function's stdout" logs_show_stdout

# A module the image does not hold: a clear event, and nothing left running.
pod missing "$REG/fn/upper:test" Never /no-such-module.wasm
check "a missing module is a clear event" event_says missing "not found in the rootfs"

# A native image under the cwasi RuntimeClass: not Wasm, said so.
BUILD_DIR="$BUILD_DIR" "$CLUSTER" push-native cwasi/hello-http:1 "$ROOT/scripts/cluster/hello-http.c" hello-http > /dev/null
pod native "$REG/cwasi/hello-http:1" Never
check "a native (not Wasm) image under cwasi is a clear event" event_says native "module /hello-http"

# Deleting the pods leaves no sandbox process and no shim behind.
kubectl delete pod upper hello missing bomb native --wait=true > /dev/null 2>&1
nothing_left() {
  for _ in $(seq 40); do
    ! pgrep -x cwasi-pause > /dev/null && ! pgrep -f "containerd-shim-cwasi-v1 .*-address /run/cwasi-cluster" > /dev/null &&
      return 0
    sleep 0.5
  done
  return 1
}
check "deleted pods leave no sandbox process and no shim" nothing_left

# The HTTP trigger: a Deployment of 3 Wasm pods serving upper on
# CWASI_HTTP_PORT, with readiness and liveness probes, behind a Service.
kubectl apply -f - > /dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      runtimeClassName: cwasi
      terminationGracePeriodSeconds: 5
      containers:
      - name: upper
        image: $REG/fn/upper:test
        env: [{name: CWASI_HTTP_PORT, value: "8080"}]
        ports: [{containerPort: 8080}]
        readinessProbe: {httpGet: {path: /_/health, port: 8080}, periodSeconds: 1}
        livenessProbe: {httpGet: {path: /_/health, port: 8080}, periodSeconds: 2}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
YAML
deployment_available() { kubectl wait --for=condition=Available deploy/web --timeout=60s > /dev/null; }
check "a Deployment of 3 Wasm pods with HTTP probes becomes Available" deployment_available
each_pod_answers() {
  local ip out ok=0
  for ip in $(kubectl get pods -l app=web -o jsonpath='{.items[*].status.podIP}'); do
    out=$(curl -s -m 5 --data-binary "pod $ip" "http://$ip:8080/") || return 1
    [[ "$out" == "POD ${ip^^}" ]] || { echo "pod $ip answered '$out'"; return 1; }
    ok=$((ok + 1))
  done
  [[ $ok -eq 3 ]]
}
check "each pod answers through its pod IP" each_pod_answers
service_answers() {
  local svc out
  svc=$(kubectl get svc web -o jsonpath='{.spec.clusterIP}')
  for _ in $(seq 20); do
    out=$(curl -s -m 5 --data-binary "through the service" "http://$svc/") && [[ "$out" == "THROUGH THE SERVICE" ]] && return 0
    sleep 0.5
  done
  return 1
}
check "the Service answers through its ClusterIP" service_answers
survives_containerd_restart() {
  local before after
  before=$(kubectl get pods -l app=web -o jsonpath='{.items[*].metadata.uid}')
  BUILD_DIR="$BUILD_DIR" "$CLUSTER" restart-containerd 1 > "$WORK/restart.log" 2>&1 || { cat "$WORK/restart.log"; return 1; }
  sleep 3  # kubelet reconnects and relists
  after=$(kubectl get pods -l app=web -o jsonpath='{.items[*].metadata.uid}')
  [[ "$before" == "$after" ]] || { echo "pods changed: $before -> $after"; return 1; }
  [[ $(kubectl get pods -l app=web -o jsonpath='{.items[*].status.containerStatuses[0].restartCount}') == "0 0 0" ]] ||
    { kubectl get pods -l app=web; return 1; }
  each_pod_answers
}
check "running Wasm pods survive a containerd restart (same pods, no restarts, still answering)" \
  survives_containerd_restart
a_killed_pod_is_replaced() {
  local victim
  victim=$(kubectl get pods -l app=web -o jsonpath='{.items[0].metadata.name}')
  kubectl delete pod "$victim" --wait=false > /dev/null
  kubectl wait --for=delete "pod/$victim" --timeout=30s > /dev/null &&
    kubectl wait --for=condition=Available deploy/web --timeout=60s > /dev/null &&
    [[ $(kubectl get pods -l app=web --field-selector=status.phase=Running -o name | wc -l) -eq 3 ]]
}
check "a deleted pod is replaced and the Deployment is whole again" a_killed_pod_is_replaced
kubectl delete deploy/web svc/web --wait=true > /dev/null 2>&1

# SIGTERM drains: a request in flight when its pod is deleted still gets its answer.
push sleep || fail "sleep image pushed"
kubectl apply -f - > /dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: drain}
spec:
  runtimeClassName: cwasi
  terminationGracePeriodSeconds: 15
  containers:
  - name: sleep
    image: $REG/fn/sleep:test
    env: [{name: CWASI_HTTP_PORT, value: "8080"}]
    readinessProbe: {httpGet: {path: /_/health, port: 8080}, periodSeconds: 1}
YAML
in_flight_request_finishes() {
  kubectl wait --for=condition=Ready pod/drain --timeout=60s > /dev/null || return 1
  local ip out
  ip=$(kubectl get pod drain -o jsonpath='{.status.podIP}')
  curl -s -m 20 --data-binary 3000 "http://$ip:8080/" > "$WORK/drain.out" &
  local req=$!
  sleep 0.5
  kubectl delete pod drain --wait=false > /dev/null
  wait $req
  out=$(cat "$WORK/drain.out")
  [[ "$out" == "slept 3000 ms" ]] || { echo "in-flight request got '$out'"; return 1; }
  kubectl wait --for=delete pod/drain --timeout=30s > /dev/null
}
check "SIGTERM lets a request in flight finish before the pod goes" in_flight_request_finishes

# Locality: containers of one pod share its shim, so `call` reaches `upper`
# embedded; a pod elsewhere on the node reaches it through the node registry
# (local, shared memory) — no cluster map is configured, so a call that
# crosses shims can only be local.
push call || fail "call image pushed"
kubectl apply -f - > /dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: duo}
spec:
  runtimeClassName: cwasi
  restartPolicy: OnFailure
  containers:
  - name: upper
    image: $REG/fn/upper:test
    env: [{name: CWASI_FUNCTION, value: shout}, {name: CWASI_HTTP_PORT, value: "8080"}]
  - name: caller
    image: $REG/fn/call:test
    args: [shout, "same pod"]
YAML
caller_pod neighbour node-1 shout "next door"
check "a container calls its pod's other function (embedded, one shim)" logs_become duo caller "SAME POD"
check "a pod calls a function of another pod on the node (local)" logs_become neighbour caller "NEXT DOOR"
counted_as() {  # counted_as POD MODE: the pod's shim counted a call in MODE
  local out
  out=$(pod_metrics "$1")
  grep -qE "^cwasi_comm_calls_total\{mode=\"$2\"\} [1-9]" <<< "$out" || { grep cwasi_comm_calls <<< "$out"; return 1; }
}
check "the pod's shim counted the call as embedded (/_/metrics)" counted_as duo embedded
check "the other pod's shim counted its call as local (/_/metrics)" counted_as neighbour local
kubectl delete pod duo neighbour --wait=true > /dev/null 2>&1

# A native runc pod beside them, through the cluster's own smoke check.
runc_beside() { BUILD_DIR="$BUILD_DIR" "$CLUSTER" smoke > "$WORK/smoke.log" 2>&1 || { tail "$WORK/smoke.log"; false; }; }
check "a runc Deployment answers through its pod IP and Service beside cwasi" runc_beside
