# cwasi in the cluster (scripts/cluster.sh up): deploy/ (CRDs, RBAC,
# RuntimeClass, operator, node agent) with the operator, node agent (with the
# shim) and workflow images built, pushed to the registry and named by digest.
# shellcheck shell=bash

go_binary() {  # CMD OUT: operator/cmd/CMD as a static binary (rewritten only when it changed)
  (cd "$ROOT/operator" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" \
    nice -n 10 go build -trimpath -ldflags "-s -w" -o "$2.tmp" "./cmd/$1") || die "go build ./cmd/$1 failed"
  if cmp -s "$2.tmp" "$2"; then rm -f "$2.tmp"; else mv -f "$2.tmp" "$2"; fi
}
# cwasi_up: builds and pushes the operator, node agent (with the shim) and
# workflow images, applies deploy/ through an overlay naming them by digest
# and this cluster's node paths, and waits for the node agents (the shim
# installed on every node) and the operator.
cwasi_up() {
  command -v go > /dev/null 2>&1 || export PATH="/usr/local/go/bin:$PATH"
  local img="$STATE/images" op agent wf
  mkdir -p "$img/operator/rootfs" "$img/node-agent/rootfs/cwasi"
  go_binary operator "$img/operator/rootfs/operator"
  go_binary node-agent "$img/node-agent/rootfs/node-agent"
  cmp -s "$SHIM" "$img/node-agent/rootfs/cwasi/containerd-shim-cwasi-v1" ||
    cp -f "$SHIM" "$img/node-agent/rootfs/cwasi/containerd-shim-cwasi-v1"
  op=$(push_rootfs cwasi/operator:dev "$img/operator/rootfs" /operator)
  agent=$(push_rootfs cwasi/node-agent:dev "$img/node-agent/rootfs" /node-agent)
  "$BUILD_DIR/bin/cwasi" image build "$BUILD_DIR/functions/workflow.wasm" -t "$REGISTRY/cwasi/workflow:dev" \
    -o "$img/workflow.tar" > /dev/null
  "$BUILD_DIR/bin/cwasi" image push "$img/workflow.tar" "$REGISTRY/cwasi/workflow:dev" > /dev/null
  wf=$(registry_digest cwasi/workflow dev)
  [[ -n "$wf" ]] || die "the workflow image is not in the registry"
  mkdir -p "$STATE/deploy"
  cat > "$STATE/deploy/kustomization.yaml" <<EOF
# Written by scripts/cluster.sh: deploy/ with this cluster's images and node paths.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- $(realpath --relative-to="$STATE/deploy" "$ROOT/deploy")
images:
- {name: cwasi/operator, newName: $REGISTRY/cwasi/operator, digest: $op}
- {name: cwasi/node-agent, newName: $REGISTRY/cwasi/node-agent, digest: $agent}
patches:
- target: {kind: Deployment, name: cwasi-operator}
  patch: |-
    - {op: replace, path: /spec/template/spec/containers/0/args/2, value: "--workflow-image=$REGISTRY/cwasi/workflow@$wf"}
- target: {kind: DaemonSet, name: cwasi-node-agent}
  patch: |-
    - {op: replace, path: /spec/template/spec/containers/0/args, value: ["--node-name=\$(NODE_NAME)",
       "--shim-dir=/host/shim/\$(NODE_NAME)/bin", "--containerd-config=/host/containerd/\$(NODE_NAME)/containerd/config.toml",
       "--cluster-map=/host/cwasi/\$(NODE_NAME)/cwasi/cluster.json", "--health-addr=:8081"]}
    - {op: replace, path: /spec/template/spec/volumes/0/hostPath/path, value: $RUN}
    - {op: replace, path: /spec/template/spec/volumes/1/hostPath/path, value: $STATE}
    - {op: replace, path: /spec/template/spec/volumes/2/hostPath/path, value: $RUN}
EOF
  kctl apply --server-side --force-conflicts -k "$STATE/deploy" > "$LOGS/deploy.log" 2>&1 ||
    { cat "$LOGS/deploy.log"; die "kubectl apply -k deploy/ failed"; }
  wait_for 180 "the node agents (the shim on every node)" deploy \
    kctl -n cwasi-system rollout status daemonset/cwasi-node-agent --timeout=5s
  wait_for 120 "the operator" deploy kctl -n cwasi-system rollout status deployment/cwasi-operator --timeout=5s
}
