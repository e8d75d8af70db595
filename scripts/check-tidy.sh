#!/usr/bin/env bash
# Runs clang-tidy-14 with the repo's .clang-tidy over the engine's sources (protocol/, the
# headers included from there too), using BUILD_DIR/compile_commands.json, in parallel
# (run-clang-tidy-14). Fails on any finding. The `clang_tidy` test of the `lint` suite
# runs it.
#
# usage: scripts/check-tidy.sh [BUILD_DIR] [SOURCE_ROOT]
# Environment: TIDY_JOBS (default: the number of CPUs)
set -euo pipefail

ROOT=${2:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${1:-$ROOT/build}
BUILD=$(cd "$BUILD" && pwd)
[[ -f "$BUILD/compile_commands.json" ]] || { echo "check-tidy: no $BUILD/compile_commands.json" >&2; exit 1; }
RUN=$(command -v run-clang-tidy-14 || command -v run-clang-tidy || true)
TIDY=$(command -v clang-tidy-14 || command -v clang-tidy || true)
[[ -n "$RUN" && -n "$TIDY" ]] ||
  { echo "check-tidy: clang-tidy-14 / run-clang-tidy-14 not found (scripts/install-deps.sh installs clang-tidy-14)" >&2; exit 1; }

# Each engine source once (the compile database may list a file for several targets).
files=$(python3 - "$BUILD/compile_commands.json" "$ROOT/protocol/" <<'PY'
import json, os, sys
seen = set()
for e in json.load(open(sys.argv[1])):
    f = os.path.normpath(os.path.join(e['directory'], e['file']))
    if f.startswith(sys.argv[2]) and f.endswith('.cpp'):
        seen.add(f)
print('\n'.join(sorted(seen)))
PY
)
[[ -n "$files" ]] || { echo "check-tidy: no protocol/ sources in the compile database" >&2; exit 1; }
n=$(wc -l <<<"$files")
regex="^($(sed 's/[.+]/\\&/g' <<<"$files" | paste -sd'|'))\$"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
"$RUN" -clang-tidy-binary "$TIDY" -p "$BUILD" -j "${TIDY_JOBS:-$(nproc)}" -quiet "$regex" >"$log" 2>&1
rc=$?
set -e
# Findings, without the colour codes and the per-file command lines.
findings=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '(warning|error): ' | sort -u || true)
if [[ $rc -ne 0 || -n "$findings" ]]; then
  sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -vE '^(clang-tidy|Running|[0-9]+ warnings? generated|Suppressed|Use -header-filter)' >&2 || true
  echo "check-tidy: $(grep -c . <<<"$findings") findings in $n files (exit $rc)" >&2
  exit 1
fi
echo "check-tidy: $n files of protocol/ clean ($("$TIDY" --version | grep -m1 version))"
