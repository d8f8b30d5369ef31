#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
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
#     again, if none is up). Each function is pushed to the local registry
#     three ways: the Wasm image (a cwasi pod: the module behind
#     CWASI_HTTP_PORT), the static image and the Debian-based image (runc
#     pods: `--listen 0.0.0.0:8080`).
#     Deployment: per function REPS times, alternating, a Deployment of one
#     pod of each image, apply -> the first correct answer to POST / with
#     `{}`, twice: "pulled" (the image removed from the node first, with its
#     content and snapshots: the kubelet pulls it and containerd unpacks it)
#     and then "cached" (the image on the node). Prints
#     "SAMPLE function|IMAGE-pulled|milliseconds" and "...|IMAGE-cached|...",
#     IMAGE one of wasm, static, debian. user-manager's pods get
#     USERS_API_URL=$CWASI_STUDY_USERS_API (and the Wasm pod the grant to it).
#     Execution: then one Wasm pod and one static runc pod per function, all
#     up at once; prints "ENDPOINT function|wasm|http://IP:8080" (and
#     |static|) per pod, then "READY", and waits until the file named by
#     $CWASI_STUDY_HANDSHAKE exists (cwasi-bench calls the pods meanwhile;
#     at most an hour), then deletes them.
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

# static_image BUILD_DIR LAYOUT_DIR FUNCTION [ARG...]: an OCI layout of just
# the function's static binary (scripts/cluster/oci-image.sh, as the
# cluster's native images are packed), entry point /study-F ARG....
static_image() {
  local build=$1 out=$2 f=$3 rootfs="$2.rootfs"
  shift 3
  mkdir -p "$rootfs" && cp "$build/functions/native/study-$f" "$rootfs/study-$f" &&
    "$ROOT/scripts/cluster/oci-image.sh" "$out" 1 "$rootfs" "/study-$f" "$@" > /dev/null
  local rc=$?
  rm -rf "$rootfs"
  return $rc
}

# debian_image BUILD_DIR LAYOUT_DIR FUNCTION [ARG...]: the same binary on the
# cached Debian rootfs (hard links into the cache, not copies), without what
# debian:*-slim leaves out too (its dpkg path-exclude list), one layer; entry
# point /usr/local/bin/study-F ARG....
debian_image() {
  local build=$1 out=$2 f=$3 rootfs="$2.rootfs"
  shift 3
  cp -al "$DEBIAN_ROOTFS" "$rootfs"
  rm -rf "$rootfs"/usr/share/{doc,man,info,locale}/*
  mkdir -p "$rootfs/usr/local/bin"
  cp "$build/functions/native/study-$f" "$rootfs/usr/local/bin/study-$f" &&
    "$ROOT/scripts/cluster/oci-image.sh" "$out" 1 "$rootfs" "/usr/local/bin/study-$f" "$@" > /dev/null
  local rc=$?
  rm -rf "$rootfs"
  return $rc
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
    mkdir -p "$d"
    echo "ARTIFACT $f|wasm-module|$(stat -c %s "$build/functions/study-$f.wasm")"
    echo "ARTIFACT $f|native-binary|$(stat -c %s "$build/functions/native/study-$f")"

    "$build/bin/cwasi" image build "$build/functions/study-$f.wasm" -t "study/$f-wasm:1" -o "$d/wasm.tar" > /dev/null ||
      { echo "cwasi image build $f failed" >&2; return 1; }
    mkdir -p "$d/wasm-layout" && tar -C "$d/wasm-layout" -xf "$d/wasm.tar"
    echo "ARTIFACT $f|wasm-image-layer|$(layer_bytes "$d/wasm-layout")"
    echo "ARTIFACT $f|wasm-image-total|$(stat -c %s "$d/wasm.tar")"

    static_image "$build" "$d/static-layout" "$f" || { echo "oci-image.sh $f failed" >&2; return 1; }
    tar -C "$d/static-layout" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$d/static.tar" .
    echo "ARTIFACT $f|static-image-layer|$(layer_bytes "$d/static-layout")"
    echo "ARTIFACT $f|static-image-total|$(stat -c %s "$d/static.tar")"

    if ((have_debian)); then
      debian_image "$build" "$d/debian-layout" "$f" || { echo "oci-image.sh (debian) $f failed" >&2; return 1; }
      tar -C "$d/debian-layout" -cf "$d/debian.tar" .
      echo "ARTIFACT $f|debian-image-layer|$(layer_bytes "$d/debian-layout")"
      echo "ARTIFACT $f|debian-image-total|$(stat -c %s "$d/debian.tar")"
      rm -rf "$d/debian-layout" "$d/debian.tar"
    fi
  done
  if ((have_debian)); then
    echo "NOTE debian-image: Debian $(cat "$DEBIAN_ROOTFS/etc/debian_version") minbase (debootstrap, $(du -sm "$DEBIAN_ROOTFS" | cut -f1) MB unpacked) without docs, man pages and locales as in debian:*-slim, + the binary in /usr/local/bin, one gzip -9 layer"
  fi
}

# push_study_images FUNCTION...: $REG/study/F-{wasm,static,debian}:1.
push_study_images() {
  local f tmp; tmp=$(mktemp -d)
  for f in "$@"; do
    if ! "$BUILD_DIR/bin/cwasi" image build "$BUILD_DIR/functions/study-$f.wasm" -t "$REG/study/$f-wasm:1" \
      -o "$tmp/$f.tar" > /dev/null || ! "$BUILD_DIR/bin/cwasi" image push "$tmp/$f.tar" "$REG/study/$f-wasm:1" > /dev/null; then
      echo "pushing study/$f-wasm failed" >&2; rm -rf "$tmp"; return 1
    fi
    if ! static_image "$BUILD_DIR" "$tmp/$f-static" "$f" --listen 0.0.0.0:8080 ||
      ! "$ROOT/scripts/cluster/push-image.py" "$tmp/$f-static" "$REG/study/$f-static:1" > /dev/null; then
      echo "pushing study/$f-static failed" >&2; rm -rf "$tmp"; return 1
    fi
    if ! debian_image "$BUILD_DIR" "$tmp/$f-debian" "$f" --listen 0.0.0.0:8080 ||
      ! "$ROOT/scripts/cluster/push-image.py" "$tmp/$f-debian" "$REG/study/$f-debian:1" > /dev/null; then
      echo "pushing study/$f-debian failed" >&2; rm -rf "$tmp"; return 1
    fi
    rm -rf "${tmp:?}/$f"*
  done
  rm -rf "$tmp"
}

# forget_image REF: removes the image from node 1's containerd — every name
# of it (tag, digest, config ID) — and waits for containerd's garbage
# collection, so its blobs and snapshots are gone too.
CTR=(ctr --address /run/cwasi-cluster/node-1/containerd.sock -n k8s.io)
forget_image() {
  local digest
  digest=$("${CTR[@]}" images ls | awk -v r="$1" '$1 == r {print $3}')
  [[ -n "$digest" ]] || return 0
  "${CTR[@]}" images ls | awk -v d="$digest" '$3 == d {print $1}' | xargs -r "${CTR[@]}" images rm --sync > /dev/null
}

# deploy_spec IMAGE_KIND FUNCTION: "IMAGE|RUNTIME_CLASS_LINE|ENV_LINE" for
# apply_deployment. user-manager gets its API's URL ($CWASI_STUDY_USERS_API)
# and, as Wasm, the grant to reach it.
deploy_spec() {
  local env=() api=${CWASI_STUDY_USERS_API:-}
  [[ $1 == wasm ]] && env+=('{name: CWASI_HTTP_PORT, value: "8080"}')
  if [[ $2 == user-manager ]]; then
    env+=("{name: USERS_API_URL, value: \"$api\"}")
    [[ $1 == wasm ]] && env+=("{name: CWASI_ALLOWED_OUTBOUND_HOSTS, value: \"$api\"}")
  fi
  local line="" e
  for e in "${env[@]}"; do line+="${line:+, }$e"; done
  case $1 in
    wasm) echo "$REG/study/$2-wasm:1|runtimeClassName: cwasi|env: [$line]" ;;
    *) echo "$REG/study/$2-$1:1||${line:+env: [$line]}" ;;
  esac
}

delete_deployment() {
  kubectl delete deploy "$1" --wait=true > /dev/null
  kubectl wait --for=delete pod -l "app=$1" --timeout=120s > /dev/null 2>&1
}

cmd_cluster() {
  local build=$1 reps=$2
  shift 2
  local fns=("$@")
  debian_rootfs > /dev/null || { echo "the Debian rootfs is needed for the Debian-based image" >&2; exit 1; }
  # shellcheck source=cluster_bench.sh
  . "$ROOT/bench/cluster_bench.sh" "$build" "$reps"
  push_study_images "${fns[@]}" || exit 1
  # The expected answers: the native binary's on stdin, and the module's under
  # `cwasi run` (float sums differ between the two builds' math libraries).
  declare -A want
  local f
  local api=${CWASI_STUDY_USERS_API:-}
  for f in "${fns[@]}"; do
    want[$f-native]=$(echo '{}' | USERS_API_URL=$api "$BUILD_DIR/functions/native/study-$f")
    want[$f-wasm]=$(echo '{}' | "$BUILD_DIR/bin/cwasi" run --env "USERS_API_URL=$api" ${api:+--allow-outbound "$api"} \
      "$BUILD_DIR/functions/study-$f.wasm")
  done

  local kind cache name image rc env before t0 first i ip
  for ((i = 1; i <= reps; i++)); do
    for f in "${fns[@]}"; do
      for kind in static debian wasm; do
        IFS='|' read -r image rc env <<< "$(deploy_spec "$kind" "$f")"
        for cache in pulled cached; do
          name="study-$kind-$f"
          [[ $cache == pulled ]] && forget_image "$image"
          before=$(ips_in_use)
          t0=$(ms)
          apply_deployment "$name" "$image" 1 "$rc" "$env" || exit 1
          first=$(first_pod_answer "$before" "${want[$f-$([[ $kind == wasm ]] && echo wasm || echo native)]}")
          [[ "$first" =~ ^[0-9]+$ ]] || { echo "$name ($cache): no correct answer ($first)" >&2; exit 1; }
          echo "SAMPLE $f|$kind-$cache|$((first - t0))"
          delete_deployment "$name"
        done
      done
    done
  done

  # Execution through pods.
  local handshake=${CWASI_STUDY_HANDSHAKE:?CWASI_STUDY_HANDSHAKE names the file that ends the execution phase}
  for f in "${fns[@]}"; do
    for kind in wasm static; do
      IFS='|' read -r image rc env <<< "$(deploy_spec "$kind" "$f")"
      apply_deployment "study-exec-$kind-$f" "$image" 1 "$rc" "$env" || exit 1
    done
  done
  for f in "${fns[@]}"; do
    for kind in wasm static; do
      name="study-exec-$kind-$f"
      kubectl wait --for=condition=Available "deploy/$name" --timeout=180s > /dev/null ||
        { echo "$name: not available" >&2; exit 1; }
      ip=$(kubectl get pod -l "app=$name" -o jsonpath='{.items[0].status.podIP}')
      [[ -n "$ip" ]] || { echo "$name: no pod IP" >&2; exit 1; }
      echo "ENDPOINT $f|$kind|http://$ip:8080"
    done
  done
  echo READY
  local give_up=$(($(ms) + 3600000))
  while [[ ! -e "$handshake" && $(ms) -lt $give_up ]]; do sleep 0.2; done
  for f in "${fns[@]}"; do
    for kind in wasm static; do delete_deployment "study-exec-$kind-$f"; done
  done
}

case "${1:-}" in
  images) shift; cmd_images "$@" ;;
  debian-rootfs) debian_rootfs && echo "$DEBIAN_ROOTFS" ;;
  cluster) shift; cmd_cluster "$@" ;;
  *) echo "usage: $0 images BUILD_DIR WORK_DIR FUNCTION... | debian-rootfs | cluster BUILD_DIR REPS FUNCTION..." >&2; exit 2 ;;
esac
