#!/usr/bin/env bash
# mms-server --live NAME=-: the ASF stream on standard input as a publishing
# point. A file piped in is sent in real time; FFmpeg (mmsh://) and mmssrc
# (RTSP/TCP and MMS/UDP) join after it started, and each one's frames from its
# join on are the file's last frames, to the end (frames_suffix.py). Input that
# is not ASF ends the publishing point with a message, and the server goes on
# serving files; a request for it before any header is "not found"; two
# --live NAME=- are refused.
source "$(dirname "${BASH_SOURCE[0]}")/../interop/lib.sh"
need ffmpeg
need gst-launch-1.0
ensure_media
gst_env
F=av-wmv2-wma2-10s.asf

# live_server INPUT [options]: mms-server --live live=- reading INPUT; sets PORT.
live_server() {
  local input=$1 i; shift
  : >"$T/live.out"
  "$SERVER_BIN" --root "$MEDIA" --bind 127.0.0.1 --port 0 --live live=- "$@" <"$input" \
    >"$T/live.out" 2>"$T/live.log" &
  _pids+=($!)
  LIVE_PID=$!
  PORT=
  for ((i = 0; i < 200; i++)); do
    PORT=$(sed -n 's/^mms-server listening mmsh=\([0-9][0-9]*\).*/\1/p' "$T/live.out")
    [[ -n "$PORT" ]] && break
    sleep 0.05
  done
  [[ -n "$PORT" ]] || fail "mms-server --live live=- did not start: $(cat "$T/live.log")"
}

framemd5_copy "$MEDIA/$F" >"$T/want.md5"
run "$CMD_TIMEOUT" "${GST_RUN[@]}" "$SYS_PYTHON" "$INTEROP_DIR/gst_frames.py" "file://$MEDIA/$F" \
  >"$T/want.frames" 2>"$T/want.log" || fail "GStreamer cannot decode $F"

live_server "$MEDIA/$F"
sleep 2  # join the broadcast after its start
pids=()
framemd5_copy "mmsh://127.0.0.1:$PORT/live" >"$T/got-mmsh.md5" 2>"$T/ff.log" & pids+=($!)
run "$CMD_TIMEOUT" "${GST_RUN[@]}" "$SYS_PYTHON" "$INTEROP_DIR/gst_frames.py" \
  "rtspt://127.0.0.1:$PORT/live" >"$T/got-rtspt.frames" 2>"$T/rtspt.log" & pids+=($!)
run "$CMD_TIMEOUT" "${GST_RUN[@]}" "$SYS_PYTHON" "$INTEROP_DIR/gst_frames.py" \
  "mmsu://127.0.0.1:$PORT/live" >"$T/got-mmsu.frames" 2>"$T/mmsu.log" & pids+=($!)
for p in "${pids[@]}"; do wait "$p" || fail "a client failed: $(tail -n 3 "$T"/*.log | head -c 2000)"; done
frames_suffix "FFmpeg mmsh://" "$T/want.md5" "$T/got-mmsh.md5" --max-lead 0
frames_suffix "mmssrc rtspt:// (decoded)" "$T/want.frames" "$T/got-rtspt.frames"
frames_suffix "mmssrc mmsu:// (decoded)" "$T/want.frames" "$T/got-mmsu.frames"
grep -q "end of input after 131 packets" "$T/live.log" ||
  fail "no end-of-input message: $(tail -n 3 "$T/live.log")"
kill "$LIVE_PID"; wait "$LIVE_PID" 2>/dev/null || true

# Not ASF: the publishing point ends with a message; files are still served.
head -c 100000 /dev/urandom >"$T/junk.bin"
live_server "$T/junk.bin"
for ((i = 0; i < 100; i++)); do
  grep -q "the publishing point ends" "$T/live.log" && break
  sleep 0.05
done
grep -q "not start with a Header Object.*the publishing point ends" "$T/live.log" ||
  fail "junk input: no clear message: $(tail -n 3 "$T/live.log")"
log "junk input: $(grep 'publishing point ends' "$T/live.log")"
if run "$CMD_TIMEOUT" "${FF[@]}" -i "mmsh://127.0.0.1:$PORT/live" -f null - 2>"$T/ff-junk.log"; then
  fail "junk input: FFmpeg played a publishing point that never had a header"
fi
grep -q "404" "$T/ff-junk.log" || fail "junk input: not a 404: $(head -c 300 "$T/ff-junk.log")"
framemd5_copy "mmsh://127.0.0.1:$PORT/$F" >"$T/got-file.md5" 2>"$T/ff-file.log" ||
  fail "junk input: the server stopped serving files"
compare_lines "file beside a failed publishing point" "$T/want.md5" "$T/got-file.md5"
kill "$LIVE_PID"; wait "$LIVE_PID" 2>/dev/null || true

if "$SERVER_BIN" --live a=- --live b=- </dev/null >"$T/two.out" 2>"$T/two.log"; then
  fail "two --live NAME=- were accepted"
fi
grep -q "only one --live NAME=-" "$T/two.log" || fail "two --live NAME=-: $(cat "$T/two.log")"
log "PASS"
