#!/usr/bin/env bash
# The shell half of `cwasi-bench study` (bench/study_bench.cc summarises).
#
#   study_bench.sh images BUILD_DIR WORK_DIR FUNCTION...
#     Packs each study function three ways and prints its sizes as
#     "ARTIFACT function|kind|bytes" lines:
#       wasm-module         build/functions/study-F.wasm
#       wasm-image          `cwasi image build` (compat: one tar+gzip layer)
#       native-binary       build/functions/native/study-F (static-pie, glibc)
#       static-image        an OCI image of just that binary
#                           (scripts/cluster/oci-image.sh, as the cluster's
#                           native hello image is packed)
#       debian-image        the same binary on a Debian 12 minbase rootfs
#                           (debootstrap, cached under ~/.cache/cwasi; apt
#                           lists and caches, docs, man pages and locales
#                           removed, as debian:*-slim does)
#     each image as "-layer" (the compressed layer, what a pull moves) and
#     "-total" (the OCI layout tarball). "NOTE text" lines say what was left
#     out and why (no debootstrap, no mirror).
#
#   study_bench.sh debian-rootfs
#     Only builds (once) the cached Debian rootfs and prints its path.
#
#   study_bench.sh cluster BUILD_DIR REPS FUNCTION...
#     On the local cluster (bench/cluster_bench.sh: started, and stopped
#     again, if none is up), per function REPS times, alternating: a
#     Deployment of one Wasm pod (cwasi, the module behind CWASI_HTTP_PORT)
#     and of one runc pod (the static image, `--listen 0.0.0.0:8080`);
#     apply -> the first correct answer to POST / with `{}`.
#     Prints "SAMPLE function|runtime|milliseconds".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEBIAN_ROOTFS=${CWASI_DEBIAN_ROOTFS:-$HOME/.cache/cwasi/debian-bookworm-minbase}
DEBIAN_MIRROR=${CWASI_DEBIAN_MIRROR:-http://deb.debian.org/debian}

# layer_bytes LAYOUT_DIR: the sizes of its (first) image's layers, summed.
layer_bytes() {
  local manifest
  manifest=$(jq -r '.manifests[0].digest' "$1/index.json") || return 1
  jq '[.layers[].size] | add' "$1/blobs/sha256/${manifest#sha256:}"
}

# debian_rootfs: the cached minbase rootfs (built once; ~1-3 min). Fails
# when debootstrap or the mirror is unavailable.
debian_rootfs() {
  [[ -f "$DEBIAN_ROOTFS/etc/debian_version" ]] && return 0
  command -v debootstrap > /dev/null || { echo "NOTE debian-image left out: debootstrap is not installed (apt-get install debootstrap)"; return 1; }
  local tmp="$DEBIAN_ROOTFS.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$(dirname "$DEBIAN_ROOTFS")"
  if ! debootstrap --variant=minbase bookworm "$tmp" "$DEBIAN_MIRROR" > "$tmp.log" 2>&1; then
    echo "NOTE debian-image left out: debootstrap failed ($(tail -1 "$tmp.log"))"
    rm -rf "$tmp" "$tmp.log"
    return 1
  fi
  rm -rf "$tmp"/var/lib/apt/lists/* "$tmp"/var/cache/apt/*.bin "$tmp"/var/cache/apt/archives/*.deb \
    "$tmp"/var/log/* "$tmp.log"
  mv "$tmp" "$DEBIAN_ROOTFS"
}

cmd_images() {
  local build=$1 work=$2 f d have_debian=0
  shift 2
  mkdir -p "$work"
  if [[ ${CWASI_STUDY_DEBIAN:-1} == 0 ]]; then
    echo "NOTE debian-image left out (CWASI_STUDY_DEBIAN=0)"
  else
    debian_rootfs && have_debian=1
  fi
  for f in "$@"; do
    d="$work/$f"
    rm -rf "$d"
    mkdir -p "$d/static-rootfs"
    echo "ARTIFACT $f|wasm-module|$(stat -c %s "$build/functions/study-$f.wasm")"
    echo "ARTIFACT $f|native-binary|$(stat -c %s "$build/functions/native/study-$f")"

    "$build/bin/cwasi" image build "$build/functions/study-$f.wasm" -t "study/$f-wasm:1" -o "$d/wasm.tar" > /dev/null ||
      { echo "cwasi image build $f failed" >&2; return 1; }
    mkdir -p "$d/wasm-layout" && tar -C "$d/wasm-layout" -xf "$d/wasm.tar"
    echo "ARTIFACT $f|wasm-image-layer|$(layer_bytes "$d/wasm-layout")"
    echo "ARTIFACT $f|wasm-image-total|$(stat -c %s "$d/wasm.tar")"

    cp "$build/functions/native/study-$f" "$d/static-rootfs/study-$f"
    "$ROOT/scripts/cluster/oci-image.sh" "$d/static-layout" 1 "$d/static-rootfs" "/study-$f" > /dev/null ||
      { echo "oci-image.sh $f failed" >&2; return 1; }
    tar -C "$d/static-layout" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$d/static.tar" .
    echo "ARTIFACT $f|static-image-layer|$(layer_bytes "$d/static-layout")"
    echo "ARTIFACT $f|static-image-total|$(stat -c %s "$d/static.tar")"

    if ((have_debian)); then
      # One layer: the rootfs (hard links into the cache, not copies) plus the binary.
      cp -al "$DEBIAN_ROOTFS" "$d/debian-rootfs"
      # What debian:*-slim leaves out too (its dpkg path-exclude list).
      rm -rf "$d"/debian-rootfs/usr/share/{doc,man,info,locale}/*
      mkdir -p "$d/debian-rootfs/usr/local/bin"
      cp "$build/functions/native/study-$f" "$d/debian-rootfs/usr/local/bin/study-$f"
      "$ROOT/scripts/cluster/oci-image.sh" "$d/debian-layout" 1 "$d/debian-rootfs" "/usr/local/bin/study-$f" > /dev/null ||
        { echo "oci-image.sh (debian) $f failed" >&2; return 1; }
      tar -C "$d/debian-layout" -cf "$d/debian.tar" .
      echo "ARTIFACT $f|debian-image-layer|$(layer_bytes "$d/debian-layout")"
      echo "ARTIFACT $f|debian-image-total|$(stat -c %s "$d/debian.tar")"
      rm -rf "$d/debian-rootfs" "$d/debian-layout" "$d/debian.tar"
    fi
  done
  if ((have_debian)); then
    echo "NOTE debian-image: Debian $(cat "$DEBIAN_ROOTFS/etc/debian_version") minbase (debootstrap, $(du -sm "$DEBIAN_ROOTFS" | cut -f1) MB unpacked) without docs, man pages and locales as in debian:*-slim, + the binary in /usr/local/bin, one gzip -9 layer"
  fi
}

cmd_cluster() {
  local build=$1 reps=$2
  shift 2
  local fns=("$@")
  # shellcheck source=cluster_bench.sh
  . "$ROOT/bench/cluster_bench.sh" "$build" "$reps"
  local f tmp; tmp=$(mktemp -d)
  for f in "${fns[@]}"; do
    "$BUILD_DIR/bin/cwasi" image build "$BUILD_DIR/functions/study-$f.wasm" -t "$REG/study/$f-wasm:1" \
      -o "$tmp/$f.tar" > /dev/null && "$BUILD_DIR/bin/cwasi" image push "$tmp/$f.tar" "$REG/study/$f-wasm:1" > /dev/null ||
      { echo "pushing study/$f-wasm failed" >&2; exit 1; }
    mkdir -p "$tmp/$f-rootfs" && cp "$BUILD_DIR/functions/native/study-$f" "$tmp/$f-rootfs/"
    "$ROOT/scripts/cluster/oci-image.sh" "$tmp/$f-layout" 1 "$tmp/$f-rootfs" "/study-$f" --listen 0.0.0.0:8080 > /dev/null &&
      "$ROOT/scripts/cluster/push-image.py" "$tmp/$f-layout" "$REG/study/$f-native:1" > /dev/null ||
      { echo "pushing study/$f-native failed" >&2; exit 1; }
  done
  rm -rf "$tmp"
  # The expected answers: the native binary's on stdin, and the module's under
  # `cwasi run` (float sums differ between the two builds' math libraries).
  declare -A want
  for f in "${fns[@]}"; do
    want[$f-runc]=$(echo '{}' | "$BUILD_DIR/functions/native/study-$f")
    want[$f-cwasi]=$(echo '{}' | "$BUILD_DIR/bin/cwasi" run "$BUILD_DIR/functions/study-$f.wasm")
  done

  local rt name image rc env before t0 first
  for ((i = 1; i <= reps; i++)); do
    for f in "${fns[@]}"; do
      for rt in runc cwasi; do
        name="study-$rt-$f"
        if [[ $rt == cwasi ]]; then
          image=$REG/study/$f-wasm:1 rc="runtimeClassName: cwasi"
          env='env: [{name: CWASI_HTTP_PORT, value: "8080"}]'
        else
          image=$REG/study/$f-native:1 rc="" env=""
        fi
        before=$(ips_in_use)
        t0=$(ms)
        apply_deployment "$name" "$image" 1 "$rc" "$env" || exit 1
        first=$(first_pod_answer "$before" "${want[$f-$rt]}")
        [[ "$first" =~ ^[0-9]+$ ]] || { echo "$name: no correct answer ($first)" >&2; exit 1; }
        echo "SAMPLE $f|$rt|$((first - t0))"
        kubectl delete deploy "$name" --wait=true > /dev/null
        kubectl wait --for=delete pod -l "app=$name" --timeout=120s > /dev/null 2>&1
      done
    done
  done
}

case "${1:-}" in
  images) shift; cmd_images "$@" ;;
  debian-rootfs) debian_rootfs && echo "$DEBIAN_ROOTFS" ;;
  cluster) shift; cmd_cluster "$@" ;;
  *) echo "usage: $0 images BUILD_DIR WORK_DIR FUNCTION... | debian-rootfs | cluster BUILD_DIR REPS FUNCTION..." >&2; exit 2 ;;
esac
