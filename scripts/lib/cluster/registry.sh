# The local registry ($REGISTRY, docker-registry; with NODES=2 a socat
# forwarder on node-1's address for node-2) and the images pushed to it:
# static native images built with musl, one-layer images of a rootfs, and the
# registry's digest of a tag (scripts/cluster.sh up, smoke, push-native).
# shellcheck shell=bash

registry_up() {  # NODES
  mkdir -p "$STATE/registry/data"
  cat > "$STATE/registry/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $STATE/registry/data
  delete:
    enabled: true
http:
  addr: $REGISTRY
EOF
  if ! alive registry && curl -sf -o /dev/null "http://$REGISTRY/v2/"; then
    local who
    who=$(ss -Hltnp "sport = :${REGISTRY##*:}" 2> /dev/null | grep -o 'users:.*' | head -1)
    die "something else already listens on $REGISTRY (${who:-unknown process}); Debian's docker-registry service starts one there on install: /etc/init.d/docker-registry stop"
  fi
  start_daemon registry 0 docker-registry serve "$STATE/registry/config.yml"
  wait_for 20 "registry on $REGISTRY" registry curl -sf "http://$REGISTRY/v2/"
  if (($1 >= 2)); then
    # node-2 has its own loopback: it pulls 127.0.0.1:5000/... through this forwarder (hosts.toml).
    start_daemon registry-proxy 0 socat "TCP-LISTEN:5000,bind=$(node_ip 1),fork,reuseaddr" "TCP:$REGISTRY"
    wait_for 10 "registry on $(node_ip 1):5000" registry-proxy curl -sf "http://$(node_ip 1):5000/v2/"
  fi
}
# image NAME:TAG SOURCE.c BINARY_PATH: builds a static binary with musl and
# pushes a one-layer image of it to the local registry (if changed or missing).
image() {
  local rootfs="$STATE/images/${1//[\/:]/_}/rootfs"
  mkdir -p "$rootfs"
  if [[ ! -x "$rootfs/$3" || "$2" -nt "$rootfs/$3" ]]; then
    musl-gcc -static -Os -s -Wall -o "$rootfs/$3" "$2"
  fi
  push_rootfs "$1" "$rootfs" "/$3" > /dev/null
}
# push_rootfs NAME:TAG ROOTFS ENTRYPOINT: a one-layer image of ROOTFS as
# $REGISTRY/NAME:TAG (rebuilt when a file changed, pushed when the registry
# has another digest); prints the digest.
push_rootfs() {
  local ref=$1 rootfs=$2 entry=$3 dir="$STATE/images/${1//[\/:]/_}"
  if [[ ! -f "$dir/oci/index.json" ]] || [[ -n "$(find "$rootfs" -newer "$dir/oci/index.json" -print -quit)" ]]; then
    "$HELPERS/oci-image.sh" "$dir/oci" "${ref##*:}" "$rootfs" "$entry" > /dev/null
  fi
  local want; want=$(grep -o 'sha256:[0-9a-f]*' "$dir/oci/index.json" | head -1)
  [[ "$(registry_digest "${ref%:*}" "${ref##*:}")" == "$want" ]] || "$HELPERS/push-image.py" "$dir/oci" "$REGISTRY/$ref" >&2
  echo "$want"
}
registry_digest() {  # NAME TAG: the registry's manifest digest (nothing when absent)
  curl -sfI -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REGISTRY/v2/$1/manifests/$2" |
    tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" {print $2}' || true
}
