#!/usr/bin/env bash
# mmssrc through an HTTP proxy (tests/tools/http_proxy.py in front of
# mms-server on loopback). The URL's host is media.invalid, which only the
# proxy resolves (to 127.0.0.1): a recording that decodes to the local
# file's frames proves the client went through the proxy. Checked:
#  * RTSP/TCP and MMS/TCP through CONNECT, MMSH with absolute-URI GETs; the
#    proxy's log shows CONNECT media.invalid:PORT resp. GET http://...;
#  * mms:// without a protocols list on the server's one demultiplexed port:
#    the UDP steps are not tried (the attempt messages say so), RTSP/TCP wins;
#  * proxy authentication: Basic (407 on a kept-alive connection) for
#    RTSP/TCP and MMSH, Digest (the proxy closes after its 407) for RTSP/TCP,
#    MMS/TCP and MMSH; NTLM (checked by python ntlm-auth) for RTSP/TCP and
#    MMSH, a wrong password refused for MMS/TCP; a wrong password is a NOT_AUTHORIZED error naming the proxy;
#  * http_proxy in the environment instead of the property, and no_proxy
#    naming the host (127.0.0.1 here): a direct connection, the proxy's log
#    stays empty.
source "$(dirname "${BASH_SOURCE[0]}")/../interop/lib.sh"
need gst-launch-1.0
ensure_media
gst_env

F=av-wmv2-wma2-10s.asf
PROXY_PY="$SRC_ROOT/tests/tools/http_proxy.py"
gst_frames() {  # gst_frames FILE OUT
  run "$CMD_TIMEOUT" "${GST_RUN[@]}" "$SYS_PYTHON" "$INTEROP_DIR/gst_frames.py" "file://$1" >"$2" \
    2>"$2.log" || fail "GStreamer cannot decode $1"
}
gst_frames "$MEDIA/$F" "$T/want.frames"

# start_proxy NAME [http_proxy.py options]: sets PROXY_PORT and PROXY_LOG.
start_proxy() {
  local name=$1 i; shift
  PROXY_LOG="$T/proxy-$name.txt"
  : >"$PROXY_LOG"
  rm -f "$T/proxy.port"
  "$SYS_PYTHON" "$PROXY_PY" --port-file "$T/proxy.port" --log "$PROXY_LOG" \
    --map media.invalid=127.0.0.1 "$@" 2>"$T/proxy-$name.log" &
  _pids+=($!)
  for ((i = 0; i < 100; i++)); do
    [[ -s "$T/proxy.port" ]] && break
    sleep 0.1
  done
  PROXY_PORT=$(cat "$T/proxy.port" 2>/dev/null) || fail "the proxy did not start"
  log "proxy $name $* on 127.0.0.1:$PROXY_PORT"
}
stop_proxy() {
  kill "${_pids[-1]}"
  wait "${_pids[-1]}" 2>/dev/null || true
  unset '_pids[-1]'
}

# play NAME URL [properties...]: records and compares decoded frames. $PLAY_ENV
# (an array of NAME=VALUE) is the environment of gst-launch-1.0.
PLAY_ENV=()
play() {
  local name=$1 url=$2; shift 2
  run "$CMD_TIMEOUT" "${GST_RUN[@]}" "${PLAY_ENV[@]}" gst-launch-1.0 -m mmssrc location="$url" \
    "$@" timeout=10 ! filesink location="$T/got-$name.asf" >"$T/gst-$name.log" 2>&1 ||
    fail "$name: mmssrc could not play $url: $(grep -A1 'debug info' "$T/gst-$name.log" | tail -n1)"
  gst_frames "$T/got-$name.asf" "$T/got-$name.frames"
  compare_lines "$name: $url decoded" "$T/want.frames" "$T/got-$name.frames"
}
# proxied LINE: the proxy logged this line.
proxied() {
  grep -qxF "$1" "$PROXY_LOG" || fail "the proxy did not log '$1': $(cat "$PROXY_LOG")"
}

start_server --fast --mms-port 0 --rtsp-port 0
MMS_PORT=$(sed -n 's/.* mms=\([0-9][0-9]*\).*/\1/p' "$T/server.out" | head -n1)
RTSP_PORT=$(sed -n 's/.* rtsp=\([0-9][0-9]*\).*/\1/p' "$T/server.out" | head -n1)
[[ -n "$MMS_PORT" && -n "$RTSP_PORT" ]] || fail "no MMS/RTSP port: $(cat "$T/server.out")"
MMSH_PORT=$SERVER_PORT

# --- each TCP transport through the proxy ---
start_proxy plain
P=127.0.0.1:$PROXY_PORT
play rtspt "mms://media.invalid:$RTSP_PORT/$F" protocols=rtspt proxy="$P"
proxied "CONNECT media.invalid:$RTSP_PORT 200"
play mmst "mms://media.invalid:$MMS_PORT/$F" protocols=mmst proxy="$P"
proxied "CONNECT media.invalid:$MMS_PORT 200"
play mmsh "mmsh://media.invalid:$MMSH_PORT/$F" proxy="$P"
proxied "GET http://media.invalid:$MMSH_PORT/$F 200"
grep -qv -E '^(CONNECT|GET) ' "$PROXY_LOG" && fail "unexpected proxy requests: $(cat "$PROXY_LOG")"

# --- the full walk on one demultiplexed port: UDP is not tried ---
start_server --fast --port 0
ONE_PORT=$SERVER_PORT
play walk "mms://media.invalid:$ONE_PORT/$F" proxy="$P"
# gst-launch -m escapes the spaces of the progress texts.
sed 's/\\//g' "$T/gst-walk.log" >"$T/walk-messages.txt"
grep -q 'rtspu: failed: not tried: UDP does not go through the HTTP proxy' "$T/walk-messages.txt" ||
  fail "walk: no message about the skipped RTSP/UDP step: $(grep -i progress "$T/walk-messages.txt")"
grep -q 'rtspt: connected' "$T/walk-messages.txt" || fail "walk: RTSP/TCP did not win"
grep -q 'mmsu: connecting' "$T/walk-messages.txt" && fail "walk: MMS/UDP was tried through a proxy"
proxied "CONNECT media.invalid:$ONE_PORT 200"
stop_proxy

# --- Basic proxy authentication (the 407 keeps the connection) ---
start_proxy basic --auth basic --user pu --password 'p s'
P=127.0.0.1:$PROXY_PORT
play basic-rtspt "mms://media.invalid:$RTSP_PORT/$F" protocols=rtspt proxy="$P" \
  proxy-id=pu proxy-pw='p s'
proxied "CONNECT media.invalid:$RTSP_PORT 407"
proxied "CONNECT media.invalid:$RTSP_PORT 200"
play basic-mmsh "mmsh://media.invalid:$MMSH_PORT/$F" proxy="$P" proxy-id=pu proxy-pw='p s'
proxied "GET http://media.invalid:$MMSH_PORT/$F 200"
stop_proxy

# --- Digest proxy authentication (the proxy closes after its 407) ---
start_proxy digest --auth digest --user pu --password pw --close-on-407
P=127.0.0.1:$PROXY_PORT
play digest-rtspt "mms://media.invalid:$RTSP_PORT/$F" protocols=rtspt proxy="http://pu:pw@$P"
proxied "CONNECT media.invalid:$RTSP_PORT 200"
play digest-mmst "mms://media.invalid:$MMS_PORT/$F" protocols=mmst proxy="$P" proxy-id=pu \
  proxy-pw=pw
proxied "CONNECT media.invalid:$MMS_PORT 200"
play digest-mmsh "mmsh://media.invalid:$MMSH_PORT/$F" proxy="$P" proxy-id=pu proxy-pw=pw
proxied "GET http://media.invalid:$MMSH_PORT/$F 407"
proxied "GET http://media.invalid:$MMSH_PORT/$F 200"
# A wrong password: NOT_AUTHORIZED, after one answer to the challenge.
if run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-launch-1.0 mmssrc \
  location="mms://media.invalid:$MMS_PORT/$F" protocols=mmst proxy="$P" proxy-id=pu \
  proxy-pw=wrong timeout=10 ! fakesink >"$T/gst-wrong.log" 2>&1; then
  fail "a wrong proxy password played"
fi
grep -q 'The HTTP proxy requires authentication' "$T/gst-wrong.log" &&
  grep -q 'proxy rejected the credentials (not-authorized' "$T/gst-wrong.log" ||
  fail "wrong password: not a clear NOT_AUTHORIZED error: $(grep -A1 ERROR "$T/gst-wrong.log")"
[[ $(grep -c "^CONNECT media.invalid:$MMS_PORT 407" "$PROXY_LOG") -ge 2 ]] ||
  fail "wrong password: the challenge was not answered: $(cat "$PROXY_LOG")"
stop_proxy

# --- NTLM proxy authentication: the proxy's check is python ntlm-auth's ---
"$SYS_PYTHON" "$SRC_ROOT/tests/tools/ntlm_peer.py" check ||
  fail "python3-ntlm-auth (an install step) is missing"
start_proxy ntlm --auth ntlm --user pu --password pw
P=127.0.0.1:$PROXY_PORT
play ntlm-rtspt "mms://media.invalid:$RTSP_PORT/$F" protocols=rtspt proxy="$P" \
  proxy-id='CORP\\pu' proxy-pw=pw
[[ $(grep -c "^CONNECT media.invalid:$RTSP_PORT 407" "$PROXY_LOG") -eq 2 ]] ||
  fail "ntlm: not a two-leg handshake: $(cat "$PROXY_LOG")"
proxied "CONNECT media.invalid:$RTSP_PORT 200"
play ntlm-mmsh "mmsh://media.invalid:$MMSH_PORT/$F" proxy="$P" proxy-id=pu proxy-pw=pw
proxied "GET http://media.invalid:$MMSH_PORT/$F 200"
grep -q 'NTLM v2 ok' "$T/proxy-ntlm.log" || fail "ntlm: the proxy did not see NTLMv2"
if run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-launch-1.0 mmssrc \
  location="mms://media.invalid:$MMS_PORT/$F" protocols=mmst proxy="$P" proxy-id=pu \
  proxy-pw=wrong timeout=10 ! fakesink >"$T/gst-ntlm-wrong.log" 2>&1; then
  fail "ntlm: a wrong proxy password played"
fi
grep -q 'proxy rejected the credentials (not-authorized' "$T/gst-ntlm-wrong.log" ||
  fail "ntlm, wrong password: not a clear error: $(grep -A1 ERROR "$T/gst-ntlm-wrong.log")"
stop_proxy

# --- http_proxy from the environment; no_proxy naming the host ---
start_proxy env
PLAY_ENV=("http_proxy=http://127.0.0.1:$PROXY_PORT/")
play env-rtspt "mms://media.invalid:$RTSP_PORT/$F" protocols=rtspt
proxied "CONNECT media.invalid:$RTSP_PORT 200"
play env-mmsh "mmsh://media.invalid:$MMSH_PORT/$F"
proxied "GET http://media.invalid:$MMSH_PORT/$F 200"
: >"$PROXY_LOG"
PLAY_ENV=("http_proxy=http://127.0.0.1:$PROXY_PORT/" "no_proxy=localhost,127.0.0.1")
play noproxy-mmst "mms://127.0.0.1:$MMS_PORT/$F" protocols=mmst
play noproxy-mmsu "mms://127.0.0.1:$MMS_PORT/$F" protocols=mmsu
play noproxy-mmsh "mmsh://127.0.0.1:$MMSH_PORT/$F"
[[ -s "$PROXY_LOG" ]] && fail "no_proxy: the proxy saw requests: $(cat "$PROXY_LOG")"
PLAY_ENV=()
stop_proxy
log "PASS"
