# Helpers of the field tests (faults, restarts, network namespaces); sourced
# after tests/interop/lib.sh, whose server, FFmpeg and GStreamer helpers they use.

FIELD_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RELAY="$SRC_ROOT/tests/tools/fault_relay.py"

# server_port NAME: a port of the last start_server's ready line (mmsh, mms, rtsp).
server_port() {
  sed -n "s/^mms-server listening.* $1=\([0-9][0-9]*\).*/\1/p" "$T/server.out" | head -n1
}

# start_relay TARGET_PORT [fault_relay options...]: a fault relay on
# 127.0.0.1 in front of 127.0.0.1:TARGET_PORT; sets RELAY_PORT. Its log is
# $T/relay-N.log (N counts the relays of the test).
_relays=0
start_relay() {
  local target=$1; shift
  _relays=$((_relays + 1))
  RELAY_LOG="$T/relay-$_relays.log"
  local out="$T/relay-$_relays.out" i
  : >"$out"
  python3 "$RELAY" --target "127.0.0.1:$target" "$@" >"$out" 2>"$RELAY_LOG" &
  _pids+=($!)
  RELAY_PORT=
  for ((i = 0; i < 100; i++)); do
    RELAY_PORT=$(sed -n 's/^fault-relay listening \([0-9][0-9]*\)$/\1/p' "$out")
    [[ -n "$RELAY_PORT" ]] && break
    sleep 0.1
  done
  [[ -n "$RELAY_PORT" ]] || fail "fault relay did not start"
}

# record_via URL OUT [mmssrc properties...]: mmssrc -> filesink, bus messages
# in OUT.log (gst-launch -m). Fails when gst-launch fails.
record_via() {
  local url=$1 out=$2; shift 2
  run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-launch-1.0 -m mmssrc location="$url" "$@" ! \
    filesink location="$out" >"$out.log" 2>&1 ||
    { tail -n 20 "$out.log" >&2; fail "$url: gst-launch-1.0 mmssrc failed"; }
}

# expect_same_as_file FILE GOT WHAT: packet and decoded-frame checksums of
# the recording GOT equal those of the local FILE (no duplicate, no gap).
expect_same_as_file() {
  local f=$1 got=$2 what=$3
  framemd5_copy "$MEDIA/$f" >"$T/want.md5"
  framemd5_copy "$got" >"$T/got.md5" 2>"$T/ffmpeg.log" || fail "$what: ffmpeg cannot read the recording"
  compare_lines "$what: packets" "$T/want.md5" "$T/got.md5"
  framemd5_decoded "$MEDIA/$f" >"$T/want-dec.md5"
  framemd5_decoded "$got" >"$T/got-dec.md5" 2>"$T/ffmpeg.log" || fail "$what: ffmpeg cannot decode the recording"
  compare_lines "$what: decoded frames" "$T/want-dec.md5" "$T/got-dec.md5"
}

# reconnects LOG: how many reconnect attempts (progress START, code reconnect) LOG shows.
reconnects() {
  { grep 'code=(string)reconnect' "$1" | grep -c 'GstProgressType)start' || true; } | head -n1
}
