#!/usr/bin/env bash
# Faults mid-stream, through a fault relay in front of mms-server: every
# TCP transport survives a reset, a clean close without end-of-stream and a
# stall with every packet and decoded frame equal to the file's (reconnect +
# resume: no duplicate, no gap); retries exhausted end in a clear error.
source "$(dirname "${BASH_SOURCE[0]}")/../interop/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need ffmpeg gst-launch-1.0 python3
ensure_media
gst_env
start_server --fast --mms-port 0 --rtsp-port 0
F=av-wmv2-wma2-60s.asf  # 2.5 MB: the fault hits well inside the stream

declare -A PORT=([mmsh]=$(server_port mmsh) [mmst]=$(server_port mms) [rtspt]=$(server_port rtsp))
for scheme in mmsh mmst rtspt; do
  # The same transport without a fault: the reference recording.
  clean="$T/clean-$scheme.asf"
  record_via "$scheme://127.0.0.1:${PORT[$scheme]}/$F" "$clean"
  for fault in reset-after close-after stall-after; do
    extra=()
    [[ $fault == stall-after ]] && extra=(timeout=2)
    start_relay "${PORT[$scheme]}" "--$fault" 600000
    got="$T/got-$scheme-$fault.asf"
    record_via "$scheme://127.0.0.1:$RELAY_PORT/$F" "$got" retries=3 "${extra[@]}"
    grep -q "connection [0-9]*: .* after" "$RELAY_LOG" || fail "$scheme $fault: the relay did not inject the fault"
    n=$(reconnects "$got.log")
    [[ $n -ge 1 ]] || { tail -n 25 "$got.log"; fail "$scheme $fault: no reconnect progress message"; }
    log "$scheme $fault: $(grep -m1 " after " "$RELAY_LOG" | sed 's/^fault-relay: //'), $n reconnect(s)"
    cmp -s "$clean" "$got" || fail "$scheme $fault: the recording differs from the one without a fault"
    log "$scheme $fault: recording identical to the one without a fault ($(stat -c %s "$got") bytes)"
    if [[ $scheme != rtsp* ]]; then
      # RTSP delivers one ASF packet per stream and RTP packet (the file's
      # packets split), which FFmpeg reads differently; its frames are
      # compared with the file's through asfdemux in tests/integration.
      expect_same_as_file "$F" "$got" "$scheme $fault 600 KB"
    fi
  done
done

# Reset, then the server is gone (connections refused): retries are
# exhausted and the error says so, listing every attempt.
start_relay "${PORT[mmst]}" --reset-after 300000 --refuse-after 1 --refuse-seconds 120
out="$T/exhausted.log"
set +e
run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-launch-1.0 -m mmssrc location="mmst://127.0.0.1:$RELAY_PORT/$F" \
  retries=2 retry-delay-max=1 ! fakesink >"$out" 2>&1
rc=$?
set -e
[[ $rc -ne 0 && $rc -ne 124 ]] || fail "exhausted retries: gst-launch exited $rc (want an error, not a hang)"
grep -q 'ERROR: from element.*mmssrc' "$out" || fail "exhausted retries: no element error"
n=$(reconnects "$out")
[[ $n -eq 2 ]] || fail "exhausted retries: $n reconnect attempts (want 2)"
grep -q 'attempts: mmst: .*, mmst: .*, mmst: ' "$out" || fail "exhausted retries: the error does not list every attempt"
grep -q 'connection to the MMS server was lost' "$out" || fail "exhausted retries: not the drop's read error"
log "exhausted retries: error after $n reconnects: $(grep -m1 'ERROR: from element' "$out")"
log "PASS"
