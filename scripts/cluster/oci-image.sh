#!/usr/bin/env bash
# Packs a directory as a single-layer linux/amd64 OCI image layout, by hand
# (tar + gzip + sha256sum; reproducible: sorted, owner 0, mtime 0).
#
#   oci-image.sh OUT_DIR TAG ROOTFS_DIR ENTRYPOINT [ARG...]
#
# Push it with: skopeo copy --insecure-policy --dest-tls-verify=false \
#                 oci:OUT_DIR:TAG docker://127.0.0.1:5000/NAME:TAG
set -euo pipefail
(($# >= 4)) || { echo "usage: $0 OUT_DIR TAG ROOTFS_DIR ENTRYPOINT [ARG...]" >&2; exit 2; }
out=$1 tag=$2 rootfs=$3
shift 3

json_array() {  # the arguments as a JSON array of strings (no quotes or backslashes in them)
  local s="" a
  for a in "$@"; do
    [[ "$a" != *[\"\\]* ]] || { echo "oci-image: unsupported character in '$a'" >&2; exit 2; }
    s+="${s:+,}\"$a\""
  done
  printf '[%s]' "$s"
}
blob() {  # FILE -> moves it into blobs/sha256, prints its digest
  local d
  d=$(sha256sum "$1" | cut -d' ' -f1)
  mv -f "$1" "$out/blobs/sha256/$d"
  echo "$d"
}

rm -rf "$out"
mkdir -p "$out/blobs/sha256"
tar -C "$rootfs" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$out/layer.tar" .
diff_id=$(sha256sum "$out/layer.tar" | cut -d' ' -f1)
gzip -9n "$out/layer.tar"
layer_size=$(stat -c %s "$out/layer.tar.gz")
layer=$(blob "$out/layer.tar.gz")

printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":%s,"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"scripts/cluster/oci-image.sh"}]}' \
  "$(json_array "$@")" "$diff_id" > "$out/config.json"
config_size=$(stat -c %s "$out/config.json")
config=$(blob "$out/config.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
  "$config" "$config_size" "$layer" "$layer_size" > "$out/manifest.json"
manifest_size=$(stat -c %s "$out/manifest.json")
manifest=$(blob "$out/manifest.json")

printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
  "$manifest" "$manifest_size" "$tag" > "$out/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' > "$out/oci-layout"
echo "oci-image: $out:$tag sha256:$manifest"
