#!/usr/bin/env bash
# A live (broadcast) stream survives a reset and a server killed and started
# again on the same port: mmssrc reconnects, rejoins the broadcast and the
# pipeline plays on to the requested number of buffers, decoding throughout.
source "$(dirname "${BASH_SOURCE[0]}")/../interop/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need gst-launch-1.0 python3
ensure_media
gst_env
start_server --live radio=av-wmv2-wma2-60s.asf --mms-port 0
MMSH=$(server_port mmsh)
MMS=$(server_port mms)
SERVER_PID=${_pids[-1]}

# 1. A reset of the MMS/TCP connection after 150 KB (about 1 s of the broadcast).
start_relay "$MMS" --reset-after 150000
out="$T/reset.log"
run 90 "${GST_RUN[@]}" gst-launch-1.0 -m mmssrc location="mmst://127.0.0.1:$RELAY_PORT/radio" \
  num-buffers=120 retries=3 ! asfdemux ! decodebin ! fakesink sync=false >"$out" 2>&1 ||
  { tail -n 20 "$out"; fail "live over MMS/TCP: the pipeline failed after a reset"; }
grep -q "reset after" "$RELAY_LOG" || fail "live reset: the relay injected no fault"
[[ $(reconnects "$out") -ge 1 ]] || fail "live reset: no reconnect"
grep -q 'Got EOS' "$out" || fail "live reset: no EOS after the buffers"
log "live MMS/TCP: reset after 150 KB, reconnected, 120 buffers played to EOS"

# 2. The server is killed mid-stream and started again on the same ports.
out="$T/restart.log"
"${GST_RUN[@]}" gst-launch-1.0 -m mmssrc location="mmsh://127.0.0.1:$MMSH/radio" \
  num-buffers=150 retries=-1 retry-delay-max=1 ! asfdemux ! decodebin ! fakesink sync=false \
  >"$out" 2>&1 &
client=$!
_pids+=("$client")
await_line "$out" '/mms-transport/p' >/dev/null || fail "live restart: the stream did not start"
sleep 1
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
log "server stopped; starting it again on mmsh=$MMSH mms=$MMS"
sleep 1
"$SERVER_BIN" --root "$MEDIA" --bind 127.0.0.1 --mmsh-port "$MMSH" --mms-port "$MMS" \
  --live radio=av-wmv2-wma2-60s.asf >"$T/server2.out" 2>"$T/server2.log" &
_pids+=($!)
finish_within "$client" 60 "$out" "live restart"
n=$(reconnects "$out")
[[ $n -ge 1 ]] || fail "live restart: no reconnect"
grep -q 'mmsh: reconnected' "$out" || fail "live restart: never reconnected"
grep -q 'Got EOS' "$out" || fail "live restart: no EOS"
log "live MMSH: server restarted, $n reconnect attempt(s), played on to EOS"
log "PASS"
