# Shared helpers for the interoperability tests (sourced, not executed).
#
# Each test is run as:  bash tests/interop/NAME.sh BUILD_ROOT
# and exits 0 on success, 77 when a required peer is missing (Meson: skip),
# anything else on failure.  Every external command runs under `timeout`;
# servers started here are stopped by the EXIT trap.
set -euo pipefail

INTEROP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_ROOT=$(cd "$INTEROP_DIR/../.." && pwd)
BUILD=$(cd "${1:?usage: $0 BUILD_ROOT}" && pwd)
TEST_NAME=$(basename "$0" .sh)
SERVER_BIN="$BUILD/tools/server/mms-server"
[[ -x "$SERVER_BIN" ]] || SERVER_BIN="$BUILD/tools/mms-server"
PLUGIN_DIR="$BUILD/gst"
MEDIA="$BUILD/test-media"
T=$(mktemp -d "${TMPDIR:-/tmp}/mms-interop-$TEST_NAME.XXXXXX")
CMD_TIMEOUT=${MMS_INTEROP_TIMEOUT:-60}
# Debian's Python (its GObject introspection modules), not a python3 that a
# version manager may have put first in PATH.
SYS_PYTHON=/usr/bin/python3
[[ -x "$SYS_PYTHON" ]] || SYS_PYTHON=python3

_pids=()
_cleanup() {
  local rc=$?
  local p i
  for p in "${_pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  # Give each process 5 s to stop after SIGTERM, then kill it and its
  # direct children (runuser -> cvlc).
  for p in "${_pids[@]}"; do
    for ((i = 0; i < 50; i++)); do
      kill -0 "$p" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$p" 2>/dev/null; then
      echo "[$TEST_NAME] process $p ignored SIGTERM; killing it" >&2
      pkill -KILL -P "$p" 2>/dev/null || true
      kill -KILL "$p" 2>/dev/null || true
    fi
    wait "$p" 2>/dev/null || true
  done
  if [[ $rc -ne 0 && $rc -ne 77 && -d "$T" ]]; then
    local f
    for f in "$T"/*.log; do
      [[ -s "$f" ]] || continue
      echo "---- $(basename "$f") (last 30 lines) ----"
      tail -n 30 "$f"
    done
  fi
  rm -rf "$T"
  exit $rc
}
trap _cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[$TEST_NAME] $*"; }
fail() { echo "[$TEST_NAME] FAIL: $*" >&2; exit 1; }
skip() { echo "[$TEST_NAME] SKIP: $*"; exit 77; }

# need CMD...: skip the test when a peer program is not installed.
need() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || skip "$c is not installed"
  done
}

# run SECONDS CMD...: run CMD bounded by a timeout (kill after 5 more seconds).
run() {
  local secs=$1; shift
  timeout -k 5 "$secs" "$@"
}

# as_vlc_user: sets as_vlc, the command prefix that runs VLC (which refuses
# to run as root) as the unprivileged test user MMS_TEST_USER (default
# mmstest, created by scripts/install-deps.sh); empty when not root.
as_vlc_user() {
  VLC_USER=${MMS_TEST_USER:-mmstest}
  if [[ $(id -u) -eq 0 ]]; then
    id "$VLC_USER" >/dev/null 2>&1 || skip "user $VLC_USER does not exist (run scripts/install-deps.sh as root)"
    as_vlc=(runuser -u "$VLC_USER" --)
  else
    as_vlc=()
  fi
}

# ensure_media [MODE]: generate the test media into BUILD/test-media once;
# concurrent tests serialise on a lock file.  Real sample files shipped in
# tests/media/real/ are copied next to them.
ensure_media() {
  local mode=${1:-default}
  mkdir -p "$MEDIA"
  (
    flock -w 600 9 || { echo "timed out waiting for the media lock" >&2; exit 1; }
    run 600 bash "$SRC_ROOT/tests/media/make-test-media.sh" "$MEDIA" "$mode"
    if [[ -d "$SRC_ROOT/tests/media/real" ]]; then
      local f
      for f in "$SRC_ROOT"/tests/media/real/*.wma "$SRC_ROOT"/tests/media/real/*.asf \
               "$SRC_ROOT"/tests/media/real/*.wmv; do
        [[ -f "$f" ]] && cp -n "$f" "$MEDIA/"
      done
    fi
    exit 0
  ) 9>"$BUILD/test-media.lock"
}

# start_server [mms-server options...]: start the reference server on
# 127.0.0.1 with a free MMSH port, serving $MEDIA; sets SERVER_PORT.
start_server() {
  [[ -x "$SERVER_BIN" ]] || fail "server not built: $SERVER_BIN"
  local out="$T/server.out" i
  : >"$out"
  # Started directly (not through run() or timeout) so that $! is the
  # server itself; its lifetime is bounded by this script's EXIT trap and
  # by Meson's per-test timeout, which kills the whole process group.
  "$SERVER_BIN" --root "$MEDIA" --bind 127.0.0.1 --mmsh-port 0 "$@" \
    >"$out" 2>"$T/server.log" &
  _pids+=($!)
  SERVER_PORT=
  for ((i = 0; i < 200; i++)); do
    SERVER_PORT=$(sed -n 's/^mms-server listening mmsh=\([0-9][0-9]*\).*/\1/p' "$out" | head -n1)
    [[ -n "$SERVER_PORT" ]] && break
    kill -0 "${_pids[-1]}" 2>/dev/null || fail "mms-server exited before it was ready"
    sleep 0.1
  done
  [[ -n "$SERVER_PORT" ]] || fail "mms-server printed no ready line within 20 s"
  log "mms-server $* listening on 127.0.0.1:$SERVER_PORT"
}

# FFmpeg helpers ---------------------------------------------------------
FF=(ffmpeg -nostdin -hide_banner -loglevel error)

# framemd5 [input options...] INPUT [output options...]: packet checksums
# (stream copy), header comments stripped.  Default output options map every
# stream and copy it.
framemd5_copy() {
  local input=$1; shift
  run "$CMD_TIMEOUT" "${FF[@]}" "$@" -i "$input" -map 0 -c copy -f framemd5 - | { grep -v '^#' || true; }
}
# expect_asf_streams FILE GOT "N..." WHAT: of the local FILE's streams, the
# recording GOT carries exactly the ASF stream numbers N... (FFmpeg's index
# of stream number n is n-1 in our media: the header keeps every stream),
# packet for packet equal to the file's; the others absent.
expect_asf_streams() {
  local f=$1 got=$2 numbers=$3 what=$4
  framemd5_copy "$MEDIA/$f" >"$T/want-streams.md5"
  framemd5_copy "$got" >"$T/got-streams.md5" 2>"$T/ffmpeg.log" ||
    fail "$what: ffmpeg cannot read the recording"
  "$SYS_PYTHON" - "$T/want-streams.md5" "$T/got-streams.md5" "$numbers" "$what" <<'PY' ||
import collections, sys
def streams(path):
    out = collections.OrderedDict()
    for line in open(path):
        fields = [x.strip() for x in line.split(',')]
        if len(fields) >= 6:
            out.setdefault(int(fields[0]), []).append(tuple(fields[1:]))
    return out
want, got = streams(sys.argv[1]), streams(sys.argv[2])
what = sys.argv[4]
indices = [int(n) - 1 for n in sys.argv[3].split()]
count = lambda d: {k + 1: len(v) for k, v in d.items()}
print(f'[streams] {what}: packets per ASF stream: file {count(want)}, received {count(got)}')
if sorted(got) != indices:
    sys.exit(f'[streams] {what}: received ASF streams {[k + 1 for k in sorted(got)]}, '
             f'want {[i + 1 for i in indices]}')
for i in indices:
    if got[i] != want.get(i):
        sys.exit(f'[streams] {what}: ASF stream {i + 1} differs from the file')
PY
    fail "$what: not the expected streams"
}
# frames_suffix WHAT WANT GOT [frames_suffix.py options]: a client that joined
# a broadcast late received the end of WANT's frames, to the end (per stream;
# gst_frames.py or framemd5 lines). Logs the result, fails otherwise.
frames_suffix() {
  local what=$1 want=$2 got=$3 line; shift 3
  "$SYS_PYTHON" "$INTEROP_DIR/frames_suffix.py" "$want" "$got" --what "$what" "$@" \
    >"$T/suffix.out" 2>&1 || {
    cat "$T/suffix.out" >&2
    fail "$what: not the end of the broadcast's frames"
  }
  while read -r line; do log "$line"; done <"$T/suffix.out"
}
# framemd5_decoded INPUT: checksums of decoded frames (FFmpeg's default stream choice).
framemd5_decoded() {
  run "$CMD_TIMEOUT" "${FF[@]}" -i "$1" -f framemd5 - | { grep -v '^#' || true; }
}

# compare_lines NAME EXPECTED_FILE GOT_FILE: equal, non-empty hash lists.
compare_lines() {
  local what=$1 want=$2 got=$3
  local nw ng
  nw=$(wc -l <"$want"); ng=$(wc -l <"$got")
  if [[ $nw -eq 0 ]]; then fail "$what: reference produced no frames"; fi
  if cmp -s "$want" "$got"; then
    log "$what: $ng frame checksums identical"
  else
    echo "[$TEST_NAME] $what: reference $nw lines, got $ng lines; first differences:" >&2
    diff "$want" "$got" | head -n 10 >&2 || true
    fail "$what: frame checksums differ"
  fi
}

# first_pts_seconds FRAMEMD5_FILE: smallest pts over all lines, in seconds
# (FFmpeg's ASF demuxer uses a 1/1000 time base).
first_pts_seconds() {
  awk -F', *' 'NF >= 6 { if (min == "" || $3 + 0 < min) min = $3 + 0 } END { if (min == "") exit 1; printf "%.3f\n", min / 1000 }' "$1"
}

# GStreamer helpers ------------------------------------------------------
# gst_env: make gst-launch-1.0 find our plugin (private registry per test).
# When the plugin is built with AddressSanitizer, the sanitizer runtimes must
# be loaded first into the (unsanitized) GStreamer tools: run them as
#   run SECS "${GST_RUN[@]}" gst-launch-1.0 ...
gst_env() {
  [[ -f "$PLUGIN_DIR/libgstmms.so" ]] || fail "plugin not built: $PLUGIN_DIR/libgstmms.so"
  export GST_PLUGIN_PATH="$PLUGIN_DIR"
  export GST_REGISTRY="$T/registry.bin"
  local libs
  libs=$(ldd "$PLUGIN_DIR/libgstmms.so" 2>/dev/null || true)
  local pre=()
  local rt
  for rt in asan ubsan tsan; do
    if grep -q "lib$rt\.so" <<<"$libs"; then
      pre+=("$(sed -n "s/.*lib$rt\.so[^ ]* => \([^ ]*\) .*/\1/p" <<<"$libs" | head -n1)")
    fi
  done
  # GST_RUN prefixes every GStreamer tool invocation.  The preload is not
  # exported: other programs (curl, VLC) misbehave with ASan preloaded.
  GST_RUN=(env)
  if ((${#pre[@]})); then
    # Leaks in GStreamer's own tools are not ours to report.
    GST_RUN=(env LD_PRELOAD="${pre[*]}" ASAN_OPTIONS="detect_leaks=0:${ASAN_OPTIONS:-}")
    log "sanitized plugin: preloading ${pre[*]} into GStreamer tools"
  fi
  run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-inspect-1.0 mmssrc >/dev/null 2>"$T/gst-inspect.log" ||
    fail "gst-inspect-1.0 cannot load mmssrc from $PLUGIN_DIR"
}

# Build a small C peer program with the system compiler.
# build_c OUT SRC [pkg-config packages...]
build_c() {
  local out=$1 src=$2; shift 2
  local flags=()
  if (($#)); then
    read -r -a flags <<<"$(pkg-config --cflags --libs "$@")"
  fi
  run 120 cc -O2 -Wall -o "$out" "$src" "${flags[@]}"
}
