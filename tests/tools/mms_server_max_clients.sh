#!/usr/bin/env bash
# mms-server --max-clients 1 on 127.0.0.1, two concurrent clients: while a
# first client plays a broadcast over MMS/TCP, a second one is refused on
# every protocol with "server is busy" (MMSH and RTSP 503, MMS
# NS_E_TOO_MANY_SESS 0xC00D000F, through mmssrc; FFmpeg sees the 503 too);
# once the first client has left, the second plays.
source "$(dirname "${BASH_SOURCE[0]}")/../interop/lib.sh"
need gst-launch-1.0 ffmpeg
ensure_media
gst_env

F=av-wmv2-wma2-10s.asf
start_server --fast --mms-port 0 --rtsp-port 0 --max-clients 1 --live live="$F" \
  --access-log "$T/access.log"
MMS_PORT=$(sed -n 's/.* mms=\([0-9][0-9]*\).*/\1/p' "$T/server.out" | head -n1)
RTSP_PORT=$(sed -n 's/.* rtsp=\([0-9][0-9]*\).*/\1/p' "$T/server.out" | head -n1)
[[ -n "$MMS_PORT" && -n "$RTSP_PORT" ]] || fail "mms-server printed no mms=/rtsp= port"

# The first client: a broadcast (never ends by itself), recorded to a file.
"${GST_RUN[@]}" gst-launch-1.0 -q mmssrc location="mms://127.0.0.1:$MMS_PORT/live" protocols=mmst ! \
  filesink location="$T/first.asf" >"$T/gst-first.log" 2>&1 &
FIRST=$!
_pids+=("$FIRST")
# It holds the place once data flows: wait (bounded) for its recording to grow.
for ((i = 0; i < 200; i++)); do
  (($(stat -c %s "$T/first.asf" 2>/dev/null || echo 0) > 50000)) && break
  kill -0 "$FIRST" 2>/dev/null || fail "the first client exited: $(tail -n 5 "$T/gst-first.log")"
  sleep 0.1
done
(($(stat -c %s "$T/first.asf" 2>/dev/null || echo 0) > 50000)) ||
  fail "the first client received no data within 20 s"
log "first client playing mms://127.0.0.1:$MMS_PORT/live over MMS/TCP"

busy() {  # busy NAME URL [properties...]: the second client is refused as busy
  local name=$1 url=$2; shift 2
  if run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-launch-1.0 mmssrc location="$url" "$@" timeout=10 ! \
    fakesink >"$T/gst-$name.log" 2>&1; then
    fail "$name: the second client played $url with --max-clients 1"
  fi
  grep -q 'server is busy' "$T/gst-$name.log" ||
    fail "$name: refused without 'server is busy': $(grep -i 'debug info' -A1 "$T/gst-$name.log" | tail -n 1)"
  log "$name: refused ($(grep -oE 'server is busy[^;]*' "$T/gst-$name.log" | head -n1))"
}
busy mmsh "mmsh://127.0.0.1:$SERVER_PORT/$F"
busy mmst "mms://127.0.0.1:$MMS_PORT/$F" protocols=mmst
grep -q '0xc00d000f\|0xC00D000F\|3222077455' "$T/gst-mmst.log" ||
  fail "mmst: the refusal does not carry NS_E_TOO_MANY_SESS: $(grep -i 'debug info' -A1 "$T/gst-mmst.log" | tail -n 1)"
busy rtsp "rtspt://127.0.0.1:$RTSP_PORT/$F"
if run "$CMD_TIMEOUT" "${FF[@]}" -i "rtsp://127.0.0.1:$RTSP_PORT/$F" -f null - 2>"$T/ffmpeg-rtsp.log"; then
  fail "FFmpeg played rtsp with --max-clients 1 and another client playing"
fi
grep -q '503' "$T/ffmpeg-rtsp.log" || fail "FFmpeg rtsp: no 503: $(head -c 300 "$T/ffmpeg-rtsp.log")"
if run "$CMD_TIMEOUT" "${FF[@]}" -i "mmsh://127.0.0.1:$SERVER_PORT/$F" -f null - 2>"$T/ffmpeg-mmsh.log"; then
  fail "FFmpeg played mmsh with --max-clients 1 and another client playing"
fi
grep -qE '503|5XX' "$T/ffmpeg-mmsh.log" || fail "FFmpeg mmsh: no 503: $(head -c 300 "$T/ffmpeg-mmsh.log")"
log "FFmpeg: refused over RTSP (503) and MMSH (5XX)"
kill -0 "$FIRST" 2>/dev/null || fail "the first client stopped while the second was refused"
grep -qE ' 503$' "$T/access.log" || fail "no 503 line in the access log"

# The first client leaves: its place is free again.
kill "$FIRST"
wait "$FIRST" 2>/dev/null || true
ok=
for ((i = 0; i < 20; i++)); do
  if run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-launch-1.0 -q mmssrc location="mmsh://127.0.0.1:$SERVER_PORT/$F" ! \
    filesink location="$T/second.asf" >"$T/gst-second.log" 2>&1; then
    ok=1
    break
  fi
  grep -q 'server is busy' "$T/gst-second.log" || fail "second client: $(tail -n 5 "$T/gst-second.log")"
  sleep 0.5  # the server has not seen the first client's close yet
done
[[ -n $ok ]] || fail "the second client was still refused 10 s after the first left"
(($(stat -c %s "$T/second.asf") > 300000)) || fail "the second client got $(stat -c %s "$T/second.asf") bytes"
log "after the first client left, the second played ($(stat -c %s "$T/second.asf") bytes)"
log "PASS"
