#!/usr/bin/env bash
# The main job on the embedded default: runs the example functions with
# `cwasi run` and prints their output, then the cold-start figures.
set -euo pipefail
BUILD_DIR=${1:-build}
CWASI="$BUILD_DIR/bin/cwasi"
FN="$BUILD_DIR/functions"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
show() { step "$*"; "$@" || echo "(exit code $?)"; }

show "$CWASI" run "$FN/hello.wasm"
step "echo 'a request' | cwasi run echo.wasm   # a reactor"
echo 'a request' | "$CWASI" run "$FN/echo.wasm"
step "printf 'one two\\nthree\\n' | cwasi run wc.wasm"
printf 'one two\nthree\n' | "$CWASI" run "$FN/wc.wasm"
show "$CWASI" run --env GREETING=hi "$FN/env-args.wasm" first second
echo "granted file" > "$tmp/note.txt"
show "$CWASI" run --dir-ro "$tmp::/data" "$FN/cat-file.wasm" /data/note.txt
show "$CWASI" run "$FN/cat-file.wasm" "$tmp/note.txt"
show "$CWASI" run --timeout-ms 100 "$FN/loop.wasm"
show "$CWASI" run --memory-mb 16 "$FN/memory-bomb.wasm"
show "$CWASI" run "$FN/out-of-bounds.wasm"
show "$CWASI" inspect "$FN/echo.wasm"

step "cwasi-bench runtime --quick   # cold start, cache, whole process"
"$BUILD_DIR/bin/cwasi-bench" runtime --quick
