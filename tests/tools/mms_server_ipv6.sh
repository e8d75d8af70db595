#!/usr/bin/env bash
# mms-server over IPv6 loopback: --bind ::1 and --bind :: (which also takes
# IPv4). mmssrc plays mmsh://[::1]:PORT/F, mms://[::1]:PORT/F over MMS/TCP
# and MMS/UDP (the client names its IPv6 address in the UDP funnel), and
# rtspt://[::1]:PORT/F; each recording decodes (GStreamer) to the local
# file's frames, and the access log shows client ::1 and the transport. With
# --bind :: an IPv4 client on 127.0.0.1 plays too (where the kernel's
# net.ipv6.bindv6only is 0, the default). Exits 77 without IPv6.
source "$(dirname "${BASH_SOURCE[0]}")/../interop/lib.sh"
need gst-launch-1.0
"$SYS_PYTHON" -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' \
  2>/dev/null || skip "no IPv6 loopback (::1)"
ensure_media
gst_env

F=av-wmv2-wma2-10s.asf
gst_frames() {  # gst_frames FILE OUT
  run "$CMD_TIMEOUT" "${GST_RUN[@]}" "$SYS_PYTHON" "$INTEROP_DIR/gst_frames.py" "file://$1" >"$2" \
    2>"$2.log" || fail "GStreamer cannot decode $1"
}
gst_frames "$MEDIA/$F" "$T/want.frames"

play() {  # play NAME URL [properties...]: records and compares decoded frames
  local name=$1 url=$2; shift 2
  run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-launch-1.0 -q mmssrc location="$url" "$@" timeout=10 ! \
    filesink location="$T/got-$name.asf" >"$T/gst-$name.log" 2>&1 ||
    fail "$name: mmssrc could not play $url: $(grep -A1 'debug info' "$T/gst-$name.log" | tail -n1)"
  gst_frames "$T/got-$name.asf" "$T/got-$name.frames"
  compare_lines "$name: $url decoded" "$T/want.frames" "$T/got-$name.frames"
}
# logged CLIENT TRANSPORT: a 200 line of that client and transport (bounded wait).
logged() {
  local i
  for ((i = 0; i < 100; i++)); do
    grep -qE "^[^ ]+ $1 /$F $2 [0-9]+ [0-9.]+ 200\$" "$T/access-$BIND_NAME.log" && return 0
    sleep 0.1
  done
  fail "no access log line for client $1 over $2: $(cat "$T/access-$BIND_NAME.log")"
}

for BIND in ::1 ::; do
  BIND_NAME=${BIND//:/c}
  # The last --bind wins over start_server's 127.0.0.1.
  start_server --fast --mms-port 0 --rtsp-port 0 --bind "$BIND" --access-log "$T/access-$BIND_NAME.log"
  MMS_PORT=$(sed -n 's/.* mms=\([0-9][0-9]*\).*/\1/p' "$T/server.out" | head -n1)
  RTSP_PORT=$(sed -n 's/.* rtsp=\([0-9][0-9]*\).*/\1/p' "$T/server.out" | head -n1)
  log "--bind $BIND: mmsh=$SERVER_PORT mms=$MMS_PORT rtsp=$RTSP_PORT"
  play "$BIND_NAME-mmsh" "mmsh://[::1]:$SERVER_PORT/$F"
  logged ::1 mmsh
  play "$BIND_NAME-mmst" "mms://[::1]:$MMS_PORT/$F" protocols=mmst
  logged ::1 mmst
  play "$BIND_NAME-mmsu" "mms://[::1]:$MMS_PORT/$F" protocols=mmsu
  logged ::1 mmsu
  play "$BIND_NAME-rtsp" "rtspt://[::1]:$RTSP_PORT/$F"
  logged ::1 rtsp
  if [[ $BIND == "::" && $(cat /proc/sys/net/ipv6/bindv6only 2>/dev/null || echo 0) == 1 ]]; then
    log "net.ipv6.bindv6only=1: '::' takes no IPv4 here; IPv4 clients not tried"
  elif [[ $BIND == "::" ]]; then
    play "$BIND_NAME-mmsh4" "mmsh://127.0.0.1:$SERVER_PORT/$F"
    play "$BIND_NAME-mmsu4" "mms://127.0.0.1:$MMS_PORT/$F" protocols=mmsu
    logged '(::ffff:)?127\.0\.0\.1' mmsu
  else
    if run 10 "$SYS_PYTHON" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)' \
      "$SERVER_PORT" 2>/dev/null; then
      fail "--bind ::1 accepted an IPv4 connection"
    fi
  fi
  # Stop this server before the next bind.
  kill "${_pids[-1]}"
  wait "${_pids[-1]}" 2>/dev/null || true
  unset '_pids[-1]'
done
log "PASS"
