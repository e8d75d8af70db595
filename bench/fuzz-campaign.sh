#!/usr/bin/env bash
# Fuzzing campaign: runs every libFuzzer target of tests/fuzz/meson.build for a
# fixed time each, one after the other, and prints a Markdown table. Not a test.
#
# usage: bench/fuzz-campaign.sh [-t SECONDS] [-b BUILD_DIR] [-o OUT_DIR] [TARGET...]
#   -t SECONDS   per target (default 60)
#   -b BUILD_DIR a build configured with -Dfuzzing=true; configured and built
#                there (clang-14, ASan + UBSan) when it does not exist yet
#                (default build-fuzz in the source tree)
#   -o OUT_DIR   scratch output (default /tmp/mms-fuzz-campaign): corpus/<target>/
#                starts as a copy of tests/fuzz/corpus/<target>/ and receives the
#                new units (the repository's corpus is only read); crashes/<target>/
#                keeps the inputs of crashes, leaks, timeouts and OOMs; logs/<target>.log
#                is libFuzzer's output. An existing OUT_DIR is reused (the corpus
#                grows across runs).
#   TARGET...    only these targets (default: all)
#
# libFuzzer stops a target at its first crash; the table's "stopped" column then
# says so and the input is in crashes/<target>/. Replay it with
#   BUILD_DIR/tests/fuzz/<target>_fuzzer crashes/<target>/crash-...
# Columns: executions and exec/s from -print_final_stats, cov (edges) and ft
# (features) from libFuzzer's last status line, corpus files/bytes after the run.
# Extra libFuzzer flags: FUZZ_FLAGS="-max_len=8192 ..." bench/fuzz-campaign.sh
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
SECS=60
BUILD="$SRC/build-fuzz"
OUT="${TMPDIR:-/tmp}/mms-fuzz-campaign"
while getopts "t:b:o:h" opt; do
  case $opt in
    t) SECS=$OPTARG ;;
    b) BUILD=$OPTARG ;;
    o) OUT=$OPTARG ;;
    *) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[[ $SECS =~ ^[0-9]+$ && $SECS -gt 0 ]] || { echo "fuzz-campaign: bad -t $SECS" >&2; exit 2; }

mapfile -t ALL < <(sed -n '/fuzz targets (begin)/,/fuzz targets (end)/p' \
  "$SRC/tests/fuzz/meson.build" | sed -n "s/^ *'\([a-z0-9_]*\)' *:.*/\1/p")
((${#ALL[@]})) || { echo "fuzz-campaign: no targets in tests/fuzz/meson.build" >&2; exit 1; }
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=("${ALL[@]}")
for t in "${TARGETS[@]}"; do
  [[ " ${ALL[*]} " == *" $t "* ]] || { echo "fuzz-campaign: unknown target $t" >&2; exit 2; }
done

if [[ ! -f "$BUILD/build.ninja" ]]; then
  CC=clang-14 CXX=clang++-14 meson setup "$BUILD" "$SRC" -Dfuzzing=true \
    -Db_sanitize=address,undefined -Db_lundef=false >&2
fi
grep -q 'fsanitize=fuzzer' "$BUILD/build.ninja" ||
  { echo "fuzz-campaign: $BUILD is not a -Dfuzzing=true build" >&2; exit 1; }
nice ninja -C "$BUILD" >&2

mkdir -p "$OUT/corpus" "$OUT/crashes" "$OUT/logs"
# UBSan reports become crashes; leaks are reported (LeakSanitizer is on by default).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1}

echo "| target | seconds | executions | exec/s | cov | ft | corpus (files / bytes) | crashes | stopped |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
total_crashes=0
for t in "${TARGETS[@]}"; do
  exe="$BUILD/tests/fuzz/${t}_fuzzer"
  [[ -x $exe ]] || { echo "fuzz-campaign: missing $exe" >&2; exit 1; }
  corpus="$OUT/corpus/$t" crashes="$OUT/crashes/$t" log="$OUT/logs/$t.log"
  mkdir -p "$corpus" "$crashes"
  cp -n "$SRC/tests/fuzz/corpus/$t/"* "$corpus/" 2>/dev/null || true
  before=$(find "$crashes" -type f | wc -l)
  start=$(date +%s)
  rc=0
  # shellcheck disable=SC2086
  nice "$exe" -max_total_time="$SECS" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$crashes/" ${FUZZ_FLAGS:-} "$corpus" >"$log" 2>&1 || rc=$?
  took=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  status=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")
  files=$(find "$corpus" -type f | wc -l)
  bytes=$(find "$corpus" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  found=$(($(find "$crashes" -type f | wc -l) - before))
  total_crashes=$((total_crashes + found))
  stopped="no"
  if ((rc != 0)); then
    stopped="rc=$rc: $(grep -m1 -oE 'ERROR: [A-Za-z]+: [^ ]+|runtime error: .*|ERROR: libFuzzer: [a-z-]+( signal)?' \
      "$log" | head -c 80 || true)"
  fi
  echo "| $t | $took | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | $files / $bytes | $found | $stopped |"
done
echo
echo "crash inputs: $OUT/crashes/ ($total_crashes new); logs: $OUT/logs/"
