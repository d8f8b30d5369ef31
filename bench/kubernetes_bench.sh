#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The measuring half of `cwasi-bench kubernetes` (bench/kubernetes_bench.cc
# summarises): on the local cluster (started here, and stopped again, if it
# is not up), Deployments of N = 1 and N = 10 pods, Wasm (cwasi, the hello
# function behind CWASI_HTTP_PORT) and native (runc, a static hello HTTP
# server), alternating, REPS times each:
#   apply -> every pod Ready (kubectl wait), apply -> the first HTTP response
#   from a pod;
# then, with N = 10 running, the memory of each pod's cgroup. The first
# response is polled on each IP that CNI hands out (the pod status shows it
# only after kubelet's next relist).
# Prints "SAMPLE group|case|milliseconds" and "MEM case|KiB per pod" lines.
# shellcheck source=cluster_bench.sh
. "$(dirname "$0")/cluster_bench.sh"

deploy() {  # deploy NAME RUNTIME N
  local image runtime_class env
  if [[ $2 == cwasi ]]; then
    image=$REG/bench/hello-wasm:1 runtime_class="runtimeClassName: cwasi"
    env='env: [{name: CWASI_HTTP_PORT, value: "8080"}]'
  else
    image=$REG/cwasi/hello-http:1 runtime_class="" env='env: [{name: PORT, value: "8080"}]'
  fi
  apply_deployment "$1" "$image" "$3" "$runtime_class" "$env"
}

run_case() {  # run_case RUNTIME N
  local name="b-$1-$2" t0 ready first before
  before=$(ips_in_use)
  t0=$(ms)
  deploy "$name" "$1" "$2"
  first_pod_answer "$before" > "/tmp/cwasi-kbench-first.$$" &
  local poller=$!
  if ! kubectl wait --for=condition=Available "deploy/$name" --timeout=180s > /dev/null ||
    ! kubectl wait --for=condition=Ready pod -l "app=$name" --timeout=180s > /dev/null; then
    echo "deployment $name did not become ready" >&2; kill $poller; exit 1
  fi
  ready=$(ms)
  wait $poller
  first=$(cat "/tmp/cwasi-kbench-first.$$")
  [[ "$first" =~ ^[0-9]+$ ]] || { echo "no HTTP response from $name" >&2; exit 1; }
  echo "SAMPLE apply -> all $2 pod(s) Ready|$1|$((ready - t0))"
  echo "SAMPLE apply -> first HTTP response (N=$2)|$1|$((first - t0))"
}

mem_per_pod() {  # mem_per_pod RUNTIME: KiB of the pods' cgroups, averaged
  local total=0 n=0 uid f
  for uid in $(kubectl get pods -l "app=b-$1-10" -o jsonpath='{.items[*].metadata.uid}'); do
    f=$(find /sys/fs/cgroup/memory -type d -name "pod$uid" 2>/dev/null | head -1)
    [[ -n "$f" ]] || continue
    total=$((total + $(cat "$f/memory.usage_in_bytes"))); n=$((n + 1))
  done
  [[ $n -gt 0 ]] && echo "MEM $1|$((total / n / 1024))"
}

for ((i = 1; i <= REPS; i++)); do
  for n in 1 10; do
    for rt in runc cwasi; do
      run_case "$rt" "$n"
      if [[ $n -eq 10 && $i -eq $REPS ]]; then mem_per_pod "$rt"; fi
      kubectl delete deploy "b-$rt-$n" --wait=true > /dev/null
      kubectl wait --for=delete pod -l "app=b-$rt-$n" --timeout=120s > /dev/null 2>&1
    done
  done
done
rm -f "/tmp/cwasi-kbench-first.$$"
