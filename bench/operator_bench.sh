#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The measuring half of `cwasi-bench operator` (bench/kubernetes_bench.cc
# summarises): on the local cluster with cwasi's stack (started here, and
# stopped again, if it is not up), REPS times each, alternating:
#   cwasi: kubectl apply a Function (hello.wasm)  -> its first 200 through its Service
#   runc:  kubectl apply a Deployment (static native hello HTTP server, with
#          an httpGet readiness probe of the same 1 s period) + a Service
#          -> its first 200 through the Service
# and apply -> Ready (the Function's Ready condition; the Deployment's
# Available). The Service's ClusterIP is read with kubectl as soon as it
# exists, then polled with curl every 10 ms.
# Prints "SAMPLE group|case|milliseconds" lines.
# shellcheck source=cluster_bench.sh
. "$(dirname "$0")/cluster_bench.sh"

apply() {  # apply NAME RUNTIME
  if [[ $2 == cwasi ]]; then
    kubectl apply -f - > /dev/null <<YAML
apiVersion: cwasi.io/v1alpha1
kind: Function
metadata: {name: $1, labels: {cwasi-bench: "1"}}
spec: {image: $REG/bench/hello-wasm:1}
YAML
    return
  fi
  kubectl apply -f - > /dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: $1, labels: {cwasi-bench: "1"}}
spec:
  replicas: 1
  selector: {matchLabels: {app: $1}}
  template:
    metadata: {labels: {app: $1}}
    spec:
      # As the operator's Functions: no service account token, no service links.
      automountServiceAccountToken: false
      enableServiceLinks: false
      terminationGracePeriodSeconds: 1
      containers:
      - name: app
        image: $REG/cwasi/hello-http:1
        env: [{name: PORT, value: "8080"}]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: $1, labels: {cwasi-bench: "1"}}
spec:
  selector: {app: $1}
  ports: [{name: http, port: 80, targetPort: http}]
YAML
}

first_response() {  # first_response NAME: when its Service first answered 200
  local ip="" give_up=$(($(ms) + 180000))
  until [[ -n "$ip" ]]; do
    ip=$(kubectl get svc "$1" -o jsonpath='{.spec.clusterIP}' 2> /dev/null)
    [[ $(ms) -lt $give_up ]] || { echo timeout; return; }
  done
  while [[ $(ms) -lt $give_up ]]; do
    if curl -sf -m 1 -o /dev/null "http://$ip/"; then ms; return; fi
    sleep 0.01
  done
  echo timeout
}

run_case() {  # run_case RUNTIME I
  local name="ob-$1-$2" t0 ready first
  t0=$(ms)
  apply "$name" "$1"
  first_response "$name" > "/tmp/cwasi-obench-first.$$" &
  local poller=$!
  if [[ $1 == cwasi ]]; then
    kubectl wait --for=condition=Ready "fn/$name" --timeout=180s > /dev/null
  else
    kubectl wait --for=condition=Available "deploy/$name" --timeout=180s > /dev/null
  fi || { echo "$name did not become ready" >&2; kill $poller; exit 1; }
  ready=$(ms)
  wait $poller
  first=$(cat "/tmp/cwasi-obench-first.$$")
  [[ "$first" =~ ^[0-9]+$ ]] || { echo "no HTTP response from $name" >&2; exit 1; }
  echo "SAMPLE kubectl apply -> Ready|$1|$((ready - t0))"
  echo "SAMPLE kubectl apply -> first 200 through the Service|$1|$((first - t0))"
  if [[ $1 == cwasi ]]; then kubectl delete fn "$name" --wait=true > /dev/null
  else kubectl delete deploy,svc "$name" --wait=true > /dev/null; fi
  kubectl wait --for=delete pod -l "app=$name" --timeout=120s > /dev/null 2>&1
  kubectl wait --for=delete pod -l "functions.cwasi.io/name=$name" --timeout=120s > /dev/null 2>&1
}

for ((i = 1; i <= REPS; i++)); do
  for rt in runc cwasi; do run_case "$rt" "$i"; done
done
rm -f "/tmp/cwasi-obench-first.$$"
