#!/usr/bin/env bash
# Builds kwok (fake nodes and pods for a real control plane) from the Go module
# proxy through the wrapper module in k8s/kwok/ (go.mod + go.sum committed: the
# same sources every time). The scale test (test/kubernetes/scale_test.sh)
# runs it; its stage definitions live in test/kubernetes/kwok/stages/.
#
#   scripts/kwok-build.sh
#
# The binary goes to $CWASI_CACHE_DIR/kwok/<version>/bin/kwok (default
# ~/.cache/cwasi/kwok/v0.8.0/bin/kwok), outside the clone; a binary already
# there is not rebuilt. Prints the binary's path on its last line. The build
# runs under `nice -n 19` (K8S_BUILD_P=N passes `-p N` to go build) and takes
# about 3 minutes cold on 2 cores, seconds with the Go build cache warm.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MOD="$ROOT/k8s/kwok"
VERSION=$(awk '$1 == "require" && $2 == "sigs.k8s.io/kwok" {print $3}' "$MOD/go.mod")
[[ -n "$VERSION" ]] || { echo "kwok-build: no sigs.k8s.io/kwok version in $MOD/go.mod" >&2; exit 1; }
CACHE="${CWASI_CACHE_DIR:-$HOME/.cache/cwasi}"
BIN="$CACHE/kwok/$VERSION/bin"

command -v go >/dev/null 2>&1 || export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null 2>&1 || { echo "kwok-build: go (>= 1.26, kwok $VERSION's go.mod) is required" >&2; exit 1; }

if [[ -x "$BIN/kwok" ]]; then
  echo "kwok-build: kwok $VERSION cached"
  echo "$BIN/kwok"
  exit 0
fi

# What kwok's own release script stamps in (hack/releases.sh); the version
# also shows in the fake nodes' nodeInfo.
LDFLAGS="-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$VERSION"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false"
PFLAG=()
[[ -n "${K8S_BUILD_P:-}" ]] && PFLAG=(-p "$K8S_BUILD_P")

mkdir -p "$BIN"
echo "kwok-build: building kwok $VERSION ($(go version | awk '{print $3}')) ..."
start=$SECONDS
# Build to a temporary name: an interrupted build never leaves a binary that
# the next run would take for a finished one.
(cd "$MOD" && nice -n 19 go build "${PFLAG[@]}" -trimpath -ldflags "$LDFLAGS" \
    -o "$BIN/.kwok.tmp" sigs.k8s.io/kwok/cmd/kwok)
mv -f "$BIN/.kwok.tmp" "$BIN/kwok"
echo "kwok-build: kwok built in $((SECONDS - start)) s"
echo "$BIN/kwok"
