#!/usr/bin/env bash
# The project's test command: install dependencies, configure and build with
# AddressSanitizer + UndefinedBehaviorSanitizer and warnings as errors, run every Meson test suite
# (unit, element, integration, fuzz-replay, interop, field, package) and print, as the very
# last line, "N passed, N failed" (plus ", N skipped" when tests skipped).
# Exit status is non-zero when anything failed or the build broke.
#
# usage: scripts/test.sh [extra meson test arguments, e.g. --suite unit]
#
# Environment:
#   BUILD_DIR        build directory (default: build)
#   MMS_SANITIZE     value for -Db_sanitize (default: address,undefined; "none" to disable)
#   MMS_SKIP_DEPS=1  do not run scripts/install-deps.sh
#   MESON_TEST_PROCESSES  parallel test processes (default: 2)
#
# Sanitizers: UBSan runs without its vptr check (the engine has no RTTI).
# Test executables link the sanitizer runtimes directly.  Tools
# that are not ours (gst-launch-1.0, used by the interop tests) load the
# sanitized plugin with the runtimes preloaded; tests/interop/lib.sh does
# that when it sees the plugin linked against libasan, with leak detection
# off for those foreign processes only.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD_DIR=${BUILD_DIR:-build}
SANITIZE=${MMS_SANITIZE:-address,undefined}
PROCS=${MESON_TEST_PROCESSES:-2}

summary_fail() {
  echo "test.sh: $1" >&2
  echo "0 passed, 1 failed"
  exit 1
}

scripts/install-deps.sh || summary_fail "dependency installation failed"

# Warnings are errors in the test build (the code builds without any).
setup_args=(-Db_sanitize="$SANITIZE" -Dwerror=true)
if [[ "$SANITIZE" != none ]]; then
  # Sanitized shared modules resolve the runtime at load time.
  setup_args+=(-Db_lundef=false)
fi
if [[ "$SANITIZE" == *undefined* ]]; then
  # The engine is built without RTTI; UBSan's vptr check needs type_info for
  # every polymorphic class and would leave the RTTI-enabled tests unlinkable.
  setup_args+=(-Dcpp_args=-fno-sanitize=vptr)
fi
if [[ -f "$BUILD_DIR/meson-private/coredata.dat" ]]; then
  # `meson configure` (not `setup --reconfigure`, which in Meson 1.0 does not
  # update compiler arguments of an existing build directory); ninja then
  # regenerates the build files.
  meson configure "$BUILD_DIR" "${setup_args[@]}" >/dev/null ||
    summary_fail "meson configure failed"
else
  rm -rf "$BUILD_DIR"
  meson setup "$BUILD_DIR" "${setup_args[@]}" || summary_fail "meson setup failed"
fi
ninja -C "$BUILD_DIR" || summary_fail "build failed"

log="$BUILD_DIR/meson-logs/testlog.json"
rm -f "$log"
set +e
meson test -C "$BUILD_DIR" --print-errorlogs --num-processes "$PROCS" "$@"
rc=$?
set -e

[[ -f "$log" ]] || summary_fail "meson test produced no $log (exit $rc)"
line=$(python3 - "$log" <<'PY'
import json, sys
passed = failed = skipped = 0
with open(sys.argv[1]) as f:
    for raw in f:
        raw = raw.strip()
        if not raw:
            continue
        result = json.loads(raw).get('result', '')
        if result in ('OK', 'EXPECTEDFAIL'):
            passed += 1
        elif result == 'SKIP':
            skipped += 1
        else:
            failed += 1
line = f'{passed} passed, {failed} failed'
if skipped:
    line += f', {skipped} skipped'
print(line)
PY
)
failed=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")
echo "$line"
if [[ "$failed" != 0 || $rc -ne 0 ]]; then
  exit 1
fi
