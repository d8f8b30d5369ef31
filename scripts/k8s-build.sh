#!/usr/bin/env bash
# Builds Kubernetes' components from the Go module proxy through the wrapper
# module in k8s/ (go.mod + go.sum committed: the same sources every time).
#
#   scripts/k8s-build.sh [COMPONENT...]    default: all six
#
# Binaries go to $CWASI_CACHE_DIR/k8s/<version>/bin (default
# ~/.cache/cwasi/k8s/v1.34.4/bin), outside the clone; a binary already there
# is not rebuilt. Prints the directory on its last line. Builds run under
# `nice -n 19` (K8S_BUILD_P=N passes `-p N` to go build). A cold build takes
# about 15 minutes on 2 cores (kube-apiserver alone ~9), a warm one seconds.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MOD="$ROOT/k8s"
VERSION=$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" {print $3}' "$MOD/go.mod")
[[ -n "$VERSION" ]] || { echo "k8s-build: no k8s.io/kubernetes version in $MOD/go.mod" >&2; exit 1; }
CACHE="${CWASI_CACHE_DIR:-$HOME/.cache/cwasi}"
BIN="$CACHE/k8s/$VERSION/bin"

# kube-apiserver first: it compiles most of the shared packages.
ALL=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
if (($#)); then WANT=("$@"); else WANT=("${ALL[@]}"); fi

command -v go >/dev/null 2>&1 || export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null 2>&1 || { echo "k8s-build: go (>= 1.24) is required" >&2; exit 1; }

major=${VERSION#v}; minor=${major#*.}; minor=${minor%%.*}; major=${major%%.*}
LDFLAGS="-s -w -X k8s.io/component-base/version.gitVersion=$VERSION \
-X k8s.io/component-base/version.gitMajor=$major -X k8s.io/component-base/version.gitMinor=$minor \
-X k8s.io/client-go/pkg/version.gitVersion=$VERSION -X k8s.io/component-base/version.gitTreeState=clean"

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false"
PFLAG=()
[[ -n "${K8S_BUILD_P:-}" ]] && PFLAG=(-p "$K8S_BUILD_P")

mkdir -p "$BIN"
for name in "${WANT[@]}"; do
  case " ${ALL[*]} " in *" $name "*) ;; *) echo "k8s-build: unknown component $name" >&2; exit 2 ;; esac
  if [[ -x "$BIN/$name" ]]; then
    echo "k8s-build: $name $VERSION cached"
    continue
  fi
  echo "k8s-build: building $name $VERSION ($(go version | awk '{print $3}')) ..."
  start=$SECONDS
  # Build to a temporary name: an interrupted build never leaves a binary that
  # the next run would take for a finished one.
  (cd "$MOD" && nice -n 19 go build "${PFLAG[@]}" -trimpath -ldflags "$LDFLAGS" \
      -o "$BIN/.$name.tmp" "k8s.io/kubernetes/cmd/$name")
  mv -f "$BIN/.$name.tmp" "$BIN/$name"
  echo "k8s-build: $name built in $((SECONDS - start)) s"
done
echo "$BIN"
