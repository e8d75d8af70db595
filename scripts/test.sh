#!/usr/bin/env bash
# The project's test command: install dependencies, configure and build with
# AddressSanitizer + UndefinedBehaviorSanitizer and warnings as errors, run every Meson test suite
# (unit, lint, element, integration, fuzz-replay, interop, field, package), then the
# ThreadSanitizer stage below, and print, as the very
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
#   TSAN_BUILD_DIR   ThreadSanitizer build directory (default: build-tsan)
#   MMS_SKIP_TSAN=1  skip the ThreadSanitizer stage (local runs; CI runs it)
#   MMS_TSAN_TESTS   tests of the ThreadSanitizer stage (default: below)
#
# ThreadSanitizer stage: after the main run, a second build with
# -Db_sanitize=thread in TSAN_BUILD_DIR (only the targets its tests need) runs
# the element suite and most of the integration suite with the `tsan` test setup
# (tests/tsan.supp: foreign libraries only), whatever extra arguments the main
# run got. Its output lines start with "[tsan] "; its results count in the
# summary line. The `lint` suite (clang-format, clang-tidy) runs in the main
# build like every other suite.
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
logs=("$log")

# --- ThreadSanitizer: the element and integration suites in a build of their own ---
if [[ "${MMS_SKIP_TSAN:-0}" != 1 ]]; then
  TSAN_DIR=${TSAN_BUILD_DIR:-build-tsan}
  # The element suite and the integration tests that hold under it. Left out:
  # mms_features and playlist_apps are bounded in wall-clock time (a 30 MB file within
  # 90 s after a pause) that ThreadSanitizer's slowdown exceeds; mms_record's transcode to
  # .webm produced no output within 90 s under it (every streaming thread waiting in a
  # queue; not analysed yet), while its .asf steps pass (docs/testing.md).
  read -r -a tsan_tests <<<"${MMS_TSAN_TESTS:-mmssrc inspect_snapshot pipeline mms_pipeline \
    rtsp_pipeline mms_server_keepalive mms_server_max_clients}"
  tsan_log="$TSAN_DIR/meson-logs/testlog-tsan.json"  # meson names it after the setup
  tsan_start=$SECONDS
  tsan_args=(-Db_sanitize=thread -Db_lundef=false -Dwerror=true)
  tsan_ok=1
  if [[ -f "$TSAN_DIR/meson-private/coredata.dat" ]]; then
    meson configure "$TSAN_DIR" "${tsan_args[@]}" >/dev/null || tsan_ok=0
  else
    rm -rf "$TSAN_DIR"
    meson setup "$TSAN_DIR" "${tsan_args[@]}" >/dev/null || tsan_ok=0
  fi
  # Only what the two suites run: their executables and the targets they depend on.
  targets=()
  if ((tsan_ok)); then
    mapfile -t targets < <(python3 - "$TSAN_DIR" "${tsan_tests[@]}" <<'PY'
import json, os, subprocess, sys
build = os.path.realpath(sys.argv[1])
def introspect(what):
    return json.loads(subprocess.check_output(['meson', 'introspect', build, what]))
files = {t['id']: t['filename'] for t in introspect('--targets')}
want = set()
for t in introspect('--tests'):
    if t['name'] not in sys.argv[2:]:
        continue
    for dep in t['depends']:
        want.update(files.get(dep, []))
    if t['cmd'] and os.path.realpath(t['cmd'][0]).startswith(build + os.sep):
        want.add(os.path.realpath(t['cmd'][0]))
for f in sorted(want):
    print(os.path.relpath(f, build))
PY
    ) || tsan_ok=0
  fi
  if ((tsan_ok)) && ((${#targets[@]})); then
    if ! ninja -C "$TSAN_DIR" "${targets[@]}" 2>&1 | sed -u 's/^/[tsan] /'; then
      tsan_ok=0
    fi
  else
    tsan_ok=0
  fi
  tsan_built=$SECONDS
  if ((tsan_ok)); then
    # Share the main build's generated media (kept when present, made when missing).
    main_media="$(cd "$BUILD_DIR" && pwd)/test-media"
    if [[ -d "$main_media" && ! -e "$TSAN_DIR/test-media" ]]; then
      ln -s "$main_media" "$TSAN_DIR/test-media"
    fi
    rm -f "$tsan_log"
    set +e
    # ThreadSanitizer runs our code several times slower: three times the timeouts.
    meson test -C "$TSAN_DIR" --no-rebuild --setup tsan "${tsan_tests[@]}" \
      --timeout-multiplier 3 --print-errorlogs --num-processes "$PROCS" 2>&1 | sed -u 's/^/[tsan] /'
    tsan_rc=${PIPESTATUS[0]}
    set -e
    if [[ -f "$tsan_log" ]]; then
      logs+=("$tsan_log")
      ((tsan_rc == 0)) || rc=1
    else
      tsan_ok=0
    fi
  fi
  echo "[tsan] build $((tsan_built - tsan_start)) s, tests $((SECONDS - tsan_built)) s"
  if ((!tsan_ok)); then
    echo "test.sh: the ThreadSanitizer stage failed to build or run" >&2
    rc=1
    failed_stage=1
  fi
fi

line=$(python3 - "${failed_stage:-0}" "${logs[@]}" <<'PY'
import json, sys
passed = skipped = 0
failed = int(sys.argv[1])  # a stage that produced no results counts as one failure
for path in sys.argv[2:]:
    with open(path) as f:
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
