#!/usr/bin/env bash
# Runs one libFuzzer target for a while on a copy of its seed corpus (the
# seeds in the repo stay as they are), with its dictionary (<binary>.dict)
# when it has one. Fails on a crash, a leak, undefined behaviour, an input
# that takes over 10 s, or one that needs over 2 GiB.
#
#   fuzz/run.sh BINARY SEED_DIR SECONDS
#
# What the run found stays in <binary's dir>/runs/<target>/: the corpus it
# grew, its log, and the input of a failure (artifacts/crash-*, leak-*,
# timeout-*, oom-*).
set -uo pipefail
bin=$1 seeds=$2 seconds=$3
name=$(basename "$bin")
out="$(dirname "$bin")/runs/$name"
rm -rf "$out/corpus"
mkdir -p "$out/corpus" "$out/artifacts"
cp "$seeds"/* "$out/corpus/"
args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
      -artifact_prefix="$out/artifacts/")
[[ -f "$bin.dict" ]] && args+=(-dict="$bin.dict")
# The daemon's warnings about each malformed input would only slow the run.
CWASI_LOG=${CWASI_LOG:-error} "$bin" "${args[@]}" "$out/corpus" > "$out/log" 2>&1
rc=$?
if ((rc != 0)); then
  tail -n 80 "$out/log"
  echo "fuzz: $name failed (exit $rc); the input is in $out/artifacts/, the log in $out/log" >&2
  exit "$rc"
fi
echo "fuzz: $name: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/log" | grep -o '[0-9]*$') runs in ${seconds}s, 0 crashes"
