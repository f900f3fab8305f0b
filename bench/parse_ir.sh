#!/usr/bin/env bash
# Instructions executed by the invitation parser's whole extraction and by mail-parser's bare
# parse of the same fixtures, counted by valgrind (cachegrind, no cache simulation): unlike
# times, these counts do not move with machine load, so a change can be judged on a busy
# machine. Instructions are not time (cache misses and branch mispredictions are not in them):
# BENCHMARKS.md gives both. Usage: bench/parse_ir.sh [set] [passes], the set as PARSE_BENCH_SET
# takes it: all, eml, other, a file-name prefix or -prefix, comma-joined terms all applying
# (-16,-17: the corpus before the fifth session's fixtures).
set -euo pipefail
cd "$(dirname "$0")/.."
set_name=${1:-all}
passes=${2:-20}
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
json=$(cargo bench --bench parse --no-run --message-format=json) \
  || { echo "could not build the parse bench (cargo bench --bench parse --no-run)" >&2; exit 1; }
# The bench's own artifact (cargo also lists the daemon binary, in no fixed order).
bin=$(printf '%s\n' "$json" | grep '"kind":\["bench"\],"crate_types":\["bin"\],"name":"parse"' \
  | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[ -x "$bin" ] || { echo "the parse bench built but its executable was not found" >&2; exit 1; }
count() {
  PARSE_BENCH_LOOP=$1 PARSE_BENCH_SET=$set_name PARSE_BENCH_N=$passes \
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$bin" 2>&1 \
    | sed -n 's/.*I *refs: *//p' | tr -d ','
}
none=$(count none)
extract=$(count extract)
bare=$(count bare)
awk -v n="$none" -v e="$extract" -v b="$bare" -v p="$passes" -v s="$set_name" 'BEGIN {
  ex = (e - n) / p; ba = (b - n) / p;
  printf "set %s, %d passes: extraction %.0f instructions per pass, bare parse %.0f; ratio %.2fx\n", s, p, ex, ba, ex / ba
}'
