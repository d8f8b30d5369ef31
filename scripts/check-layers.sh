#!/usr/bin/env bash
# The layer rule: a file of src/<layer>/ or include/cwasi/<layer>/ includes
# only cwasi headers of its own layer or of layers before it in the order
# src/CMakeLists.txt builds them in. Prints every include that breaks it and
# fails; run by `make test` (lint.layers).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

order=$(sed -n 's/^foreach(layer \(.*\))$/\1/p' "$ROOT/src/CMakeLists.txt")
[[ -n "$order" ]] || { echo "check-layers: no 'foreach(layer ...)' in src/CMakeLists.txt" >&2; exit 2; }
declare -A rank=()
i=0
for layer in $order; do rank[$layer]=$i; i=$((i + 1)); done

bad=0 files=0
for layer in $order; do
  for dir in "$ROOT/src/$layer" "$ROOT/include/cwasi/$layer"; do
    [[ -d "$dir" ]] || continue
    while IFS= read -r -d '' file; do
      files=$((files + 1))
      while IFS=: read -r line other; do
        if [[ -z "${rank[$other]:-}" ]]; then
          echo "${file#"$ROOT"/}:$line: includes cwasi/$other/, which is no layer of src/CMakeLists.txt"
          bad=$((bad + 1))
        elif ((rank[$other] > rank[$layer])); then
          echo "${file#"$ROOT"/}:$line: layer $layer includes cwasi/$other/, a layer above it"
          bad=$((bad + 1))
        fi
      done < <(grep -noE '^#include "cwasi/[a-z_]+/' "$file" | sed -E 's|^([0-9]+):#include "cwasi/([a-z_]+)/|\1:\2|' || true)
    done < <(find "$dir" -type f \( -name '*.h' -o -name '*.cc' \) -print0)
  done
done
echo "check-layers: $files files in layers $(echo "$order" | tr ' ' '<'): $bad include(s) against the order"
((bad == 0))
