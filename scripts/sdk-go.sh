#!/usr/bin/env bash
# The Go guest SDK (sdk/go): formatting, go vet for the host and for wasip1,
# and the unit tests of its portable parts (on the host). The examples are
# built by CMake (cmake/GoFunctions.cmake) and run by test/node/sdk_go_test.cc.
#
#   scripts/sdk-go.sh test
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT/sdk/go"
command -v go > /dev/null 2>&1 || export PATH="/usr/local/go/bin:$PATH"
export GOTOOLCHAIN=local GOPROXY=off GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false"
export GOCACHE="${GOCACHE:-$HOME/.cache/go-build}" GOMODCACHE="${GOMODCACHE:-$HOME/.cache/go-mod}"

case "${1:-}" in
  test)
    unformatted=$(gofmt -l .)
    if [[ -n "$unformatted" ]]; then
      echo "sdk-go: not gofmt-formatted: $unformatted" >&2
      exit 1
    fi
    go vet ./...
    GOOS=wasip1 GOARCH=wasm go vet ./...
    go test -count=1 ./...
    ;;
  *) echo "usage: $0 test" >&2; exit 2 ;;
esac
