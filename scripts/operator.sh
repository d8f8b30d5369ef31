#!/usr/bin/env bash
# The Go side of cwasi (operator/: the operator and the node agent).
#
#   scripts/operator.sh generate   CRDs (deploy/crds), the operator's ClusterRole
#                                  (deploy/rbac/role.yaml) and deepcopy code, by
#                                  controller-gen from the module cache
#   scripts/operator.sh test       generated files up to date, go vet, go test
#                                  (controller and agent tests start a real
#                                  kube-apiserver + etcd: scripts/k8s-build.sh's
#                                  cache and Debian's etcd-server)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT/operator"
command -v go > /dev/null 2>&1 || export PATH="/usr/local/go/bin:$PATH"
export GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false"

generate() {  # generate DEPLOY_DIR
  go run sigs.k8s.io/controller-tools/cmd/controller-gen object paths=./api/... \
    crd:maxDescLen=400 rbac:roleName=cwasi-operator paths=./internal/controller/... \
    output:crd:dir="$1/crds" output:rbac:dir="$1/rbac"
}

case "${1:-}" in
  generate) generate "$ROOT/deploy" ;;
  test)
    "$ROOT/scripts/setup.sh" cluster > /dev/null
    "$ROOT/scripts/k8s-build.sh" kube-apiserver kubectl | grep -v -e ' cached$' -e '^/' || true
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    cp -r "$ROOT/deploy" "$tmp/deploy" && cp api/v1alpha1/zz_generated.deepcopy.go "$tmp/"
    generate "$tmp/deploy"
    if ! diff -r "$ROOT/deploy" "$tmp/deploy" || ! cmp -s api/v1alpha1/zz_generated.deepcopy.go "$tmp/zz_generated.deepcopy.go"; then
      cp "$tmp/zz_generated.deepcopy.go" api/v1alpha1/
      echo "operator: generated files are stale: run scripts/operator.sh generate and commit" >&2
      exit 1
    fi
    go vet ./...
    go test -count=1 ./...
    ;;
  *) echo "usage: $0 generate | test" >&2; exit 2 ;;
esac
