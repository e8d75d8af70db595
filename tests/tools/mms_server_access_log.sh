#!/usr/bin/env bash
# mms-server --access-log FILE on 127.0.0.1: one line per session as it ends,
#   DATE-TIME CLIENT PATH TRANSPORT BYTES DURATION STATUS
# after a "#Fields:" header. Plays over MMSH, MMS/TCP, MMS/UDP and RTSP/TCP
# give lines with their transport, status 200 and the bytes of the stream; a
# missing file gives 404; SIGHUP reopens the file (log rotation).
source "$(dirname "${BASH_SOURCE[0]}")/../interop/lib.sh"
need gst-launch-1.0
ensure_media
gst_env

F=av-wmv2-wma2-10s.asf
LOG="$T/access.log"
start_server --fast --mms-port 0 --rtsp-port 0 --access-log "$LOG"
SERVER_PID=${_pids[-1]}
MMS_PORT=$(sed -n 's/.* mms=\([0-9][0-9]*\).*/\1/p' "$T/server.out" | head -n1)
RTSP_PORT=$(sed -n 's/.* rtsp=\([0-9][0-9]*\).*/\1/p' "$T/server.out" | head -n1)
[[ -n "$MMS_PORT" && -n "$RTSP_PORT" ]] || fail "mms-server printed no mms=/rtsp= port"
[[ -f "$LOG" ]] || fail "the access log was not created at start"
grep -qx '#Fields: date-time c-ip cs-uri-stem x-transport sc-bytes x-duration sc-status' "$LOG" ||
  fail "no #Fields header: $(head -n 3 "$LOG")"

play() {  # play NAME URL [properties...]
  local name=$1 url=$2; shift 2
  run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-launch-1.0 -q mmssrc location="$url" "$@" ! \
    fakesink >"$T/gst-$name.log" 2>&1
}
# wait_lines FILE PATTERN N: until FILE has N lines matching PATTERN (sessions
# are logged when the server closes them, just after the client leaves).
wait_lines() {
  local i
  for ((i = 0; i < 100; i++)); do
    (($(grep -cE "$2" "$1" 2>/dev/null || true) >= $3)) && return 0
    sleep 0.1
  done
  fail "no $3 line(s) matching '$2' in $1 within 10 s: $(cat "$1" 2>/dev/null)"
}
LINE_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z 127\.0\.0\.1 '
# check_play TRANSPORT: the largest 200 line of that transport for /F carried the stream.
check_play() {
  local tr=$1 line bytes dur
  wait_lines "$LOG" "$LINE_RE/$F $tr [0-9]+ [0-9]+\.[0-9]{3} 200\$" 1
  line=$(grep -E "$LINE_RE/$F $tr [0-9]+ [0-9.]+ 200\$" "$LOG" | sort -k5,5n | tail -n1)
  read -r _ _ _ _ bytes dur _ <<<"$line"
  # The stream: at least its data packets without padding (>300 kB of a 420 kB file).
  ((bytes > 300000)) || fail "$tr: $bytes bytes logged for a play of $F: $line"
  awk -v d="$dur" 'BEGIN { exit !(d >= 0 && d < 600) }' || fail "$tr: duration '$dur'"
  log "$tr: $line"
}

play mmsh "mmsh://127.0.0.1:$SERVER_PORT/$F" || fail "mmsh play failed"
check_play mmsh
play mmst "mms://127.0.0.1:$MMS_PORT/$F" protocols=mmst || fail "mmst play failed"
check_play mmst
play mmsu "mms://127.0.0.1:$MMS_PORT/$F" protocols=mmsu || fail "mmsu play failed"
check_play mmsu
play rtsp "rtspt://127.0.0.1:$RTSP_PORT/$F" || fail "rtsp play failed"
check_play rtsp

if play missing "mmsh://127.0.0.1:$SERVER_PORT/no-such-file.asf"; then
  fail "a missing file played"
fi
wait_lines "$LOG" "$LINE_RE/no-such-file\.asf mmsh [0-9]+ [0-9.]+ 404\$" 1
if play missing-mms "mms://127.0.0.1:$MMS_PORT/no-such-file.asf" protocols=mmst; then
  fail "a missing file played over MMS"
fi
wait_lines "$LOG" "$LINE_RE/no-such-file\.asf mmst [0-9]+ [0-9.]+ 404\$" 1
log "missing file: 404 lines for mmsh and mmst"

# Rotation: the file is moved away, SIGHUP, and the next session goes to a new file.
mv "$LOG" "$LOG.1"
before=$(wc -l <"$LOG.1")
kill -HUP "$SERVER_PID"
for ((i = 0; i < 100; i++)); do
  [[ -f "$LOG" ]] && break
  sleep 0.1
done
[[ -f "$LOG" ]] || fail "SIGHUP did not reopen $LOG"
kill -0 "$SERVER_PID" || fail "mms-server died on SIGHUP"
play mmsh-after "mmsh://127.0.0.1:$SERVER_PORT/$F" || fail "mmsh play after SIGHUP failed"
wait_lines "$LOG" "$LINE_RE/$F mmsh [0-9]+ [0-9.]+ 200\$" 1
(($(wc -l <"$LOG.1") == before)) || fail "the rotated file still got lines after SIGHUP"
log "SIGHUP: new sessions go to the reopened file"
log "PASS"
