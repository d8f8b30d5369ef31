# `scripts/cluster.sh smoke`: a native (runc) Deployment + Service, checked
# by pod IP, ClusterIP, logs and exec, and across nodes with NODES=2.
# shellcheck shell=bash

retry() {  # SECONDS CMD...: CMD's output once it succeeds (kube-proxy syncs a new Service within ~1-2 s)
  local deadline=$((SECONDS + $1)); shift
  until "$@" 2> /dev/null; do ((SECONDS < deadline)) || return 1; sleep 0.5; done
}
cmd_smoke() {
  alive kube-apiserver || die "the cluster is not up (scripts/cluster.sh up)"
  local nodes; nodes=$(cat "$STATE/nodes")
  image cwasi/hello-http:1 "$HELPERS/hello-http.c" hello-http
  local t0=$SECONDS
  kctl apply -f - > /dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: hello, namespace: default}
spec:
  replicas: $nodes
  selector: {matchLabels: {app: hello}}
  template:
    metadata: {labels: {app: hello}}
    spec:
      terminationGracePeriodSeconds: 2
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: hello}}}
      containers:
      - name: hello
        image: $REGISTRY/cwasi/hello-http:1
        ports: [{containerPort: 8080}]
        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: hello, namespace: default}
spec:
  selector: {app: hello}
  ports: [{port: 80, targetPort: 8080}]
EOF
  kctl rollout status deployment/hello --timeout=120s
  log "deployment Ready in $((SECONDS - t0)) s"
  local fail=0 pod ip node svc out
  svc=$(kctl get service hello -o jsonpath='{.spec.clusterIP}')
  while read -r pod ip node; do
    if out=$(retry 10 curl -sf --max-time 5 "http://$ip:8080/"); then log "node-1 -> pod $pod on $node ($ip): $out"
    else warn "pod $pod ($ip) on $node: no answer from node-1"; fail=1; fi
  done < <(kctl get pods -l app=hello -o jsonpath='{range .items[*]}{.metadata.name} {.status.podIP} {.spec.nodeName}{"\n"}{end}')
  for n in $(seq 1 "$nodes"); do
    if out=$(retry 10 in_node "$n" curl -sf --max-time 5 "http://$svc/"); then log "node-$n -> Service hello ($svc): $out"
    else warn "node-$n: no answer from Service $svc"; fail=1; fi
  done
  if ((nodes >= 2)); then
    local p1 ip2
    p1=$(kctl get pods -l app=hello --field-selector spec.nodeName=node-1 -o jsonpath='{.items[0].metadata.name}')
    ip2=$(kctl get pods -l app=hello --field-selector spec.nodeName=node-2 -o jsonpath='{.items[0].status.podIP}')
    if out=$(retry 10 kctl exec "$p1" -- /hello-http get "$ip2:8080"); then log "pod $p1 (node-1) -> pod $ip2 (node-2): $out"
    else warn "pod $p1 on node-1 cannot reach $ip2 on node-2"; fail=1; fi
  fi
  if out=$(retry 10 kctl exec deploy/hello -- /hello-http get "$svc:80"); then log "pod -> Service hello: $out"
  else warn "a pod cannot reach Service $svc"; fail=1; fi
  kctl logs deploy/hello --tail=3 | sed 's/^/  kubectl logs: /'
  [[ -n "$(kctl logs deploy/hello --tail=1)" ]] || { warn "kubectl logs returned nothing"; fail=1; }
  if [[ "${KEEP:-}" != 1 ]]; then
    kctl delete deployment/hello service/hello --wait=true > /dev/null
  fi
  ((fail == 0)) || die "smoke test failed"
  log "smoke test passed"
}
