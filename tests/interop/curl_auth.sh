#!/usr/bin/env bash
# HTTP authentication of mms-server's MMSH port against curl, an independent
# HTTP client: Digest, Basic and NTLM (curl's own, the handshake on one
# kept-alive connection) with the right and a wrong password, each scheme
# refused when the server does not offer it (--auth-scheme); then mmssrc
# against a Digest-only and an NTLM-only server over MMSH and RTSP/TCP, the
# decoded frames equal to the local file's.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need curl
curl -V | grep -qw NTLM || fail "this curl has no NTLM"
need gst-launch-1.0
ensure_media
gst_env

F=av-wmv2-wma2-10s.asf
# describe CURL-OPTIONS...: the HTTP status of an MMSH describe request
# (the NSPlayer User-Agent, as a player sends it); the body goes to $T/body.
describe() {
  run "$CMD_TIMEOUT" curl -s -o "$T/body" -w '%{http_code}' -A 'NSPlayer/12.0.7601.17514' \
    -H 'Pragma: no-cache,rate=1.000000,stream-time=0,stream-offset=0:0,request-context=1' \
    -H 'Pragma: xClientGUID={3300AD50-2C39-46C0-AE0A-60E4D8A0A7C1}' "$@" \
    "http://127.0.0.1:$SERVER_PORT/$F" || true
}
# expect_status WANT WHAT CURL-OPTIONS...
expect_status() {
  local want=$1 what=$2 got; shift 2
  got=$(describe "$@")
  [[ "$got" == "$want" ]] || fail "$what: HTTP $got, wanted $want"
  if [[ "$want" == 200 ]]; then
    # The describe answer is MMSH framing: the ASF header in a $H frame (after
    # a $M metadata frame for NSPlayer 9 and later).
    "$SYS_PYTHON" -c 'import sys; b = open(sys.argv[1], "rb").read(); sys.exit(b"$H" not in b[:4096])' \
      "$T/body" || fail "$what: the answer holds no \$H frame"
  fi
  log "$what: HTTP $got"
}

# --- both schemes offered (the default) ---
start_server --auth alice:s3cret
expect_status 401 "no credentials"
expect_status 200 "digest" --digest -u alice:s3cret
expect_status 401 "digest, wrong password" --digest -u alice:wrong
expect_status 200 "basic" --basic -u alice:s3cret
expect_status 401 "basic, wrong password" --basic -u alice:wrong
run "$CMD_TIMEOUT" curl -s -o /dev/null -D "$T/head" -A NSPlayer/12.0 \
  "http://127.0.0.1:$SERVER_PORT/$F" || true
grep -qi '^WWW-Authenticate: Digest realm="mms-server", nonce="' "$T/head" &&
  grep -qi '^WWW-Authenticate: Basic realm="mms-server"' "$T/head" ||
  fail "the 401 does not offer Digest and Basic: $(cat "$T/head")"

# --- only Digest ---
start_server --auth alice:s3cret --auth-scheme digest --rtsp-port 0
DIGEST_PORT=$SERVER_PORT
RTSP_PORT=$(sed -n 's/.* rtsp=\([0-9][0-9]*\).*/\1/p' "$T/server.out" | head -n1)
expect_status 200 "digest-only server, digest" --digest -u alice:s3cret
expect_status 401 "digest-only server, basic" --basic -u alice:s3cret

# --- only Basic ---
start_server --auth alice:s3cret --auth-scheme basic
expect_status 200 "basic-only server, basic" --basic -u alice:s3cret
expect_status 401 "basic-only server, digest" --digest -u alice:s3cret

# --- only NTLM: curl's NTLM client, one kept-alive connection ---
start_server --auth alice:s3cret --auth-scheme ntlm --rtsp-port 0
NTLM_PORT=$SERVER_PORT
NTLM_RTSP=$(sed -n 's/.* rtsp=\([0-9][0-9]*\).*/\1/p' "$T/server.out" | head -n1)
expect_status 200 "ntlm" --ntlm -u alice:s3cret
expect_status 200 "ntlm with a domain" --ntlm -u 'CORP\alice:s3cret'
expect_status 401 "ntlm, wrong password" --ntlm -u alice:wrong
expect_status 401 "ntlm, wrong user" --ntlm -u bob:s3cret
expect_status 401 "ntlm-only server, basic" --basic -u alice:s3cret
run "$CMD_TIMEOUT" curl -s -o /dev/null -D "$T/head" -A NSPlayer/12.0 \
  "http://127.0.0.1:$NTLM_PORT/$F" || true
grep -qi '^WWW-Authenticate: Negotiate' "$T/head" && grep -qi '^WWW-Authenticate: NTLM' "$T/head" ||
  fail "the 401 does not offer Negotiate and NTLM: $(cat "$T/head")"

# --- mmssrc against the Digest-only server: MMSH and RTSP/TCP ---
gst_frames() {  # gst_frames URI OUT
  run "$CMD_TIMEOUT" "${GST_RUN[@]}" "$SYS_PYTHON" "$INTEROP_DIR/gst_frames.py" "$1" >"$2" \
    2>"$2.log" || fail "GStreamer cannot decode $1: $(tail -n2 "$2.log")"
}
gst_frames "file://$MEDIA/$F" "$T/want.frames"
play() {  # play NAME URL [properties...]
  local name=$1 url=$2; shift 2
  run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-launch-1.0 mmssrc location="$url" "$@" timeout=10 ! \
    filesink location="$T/got-$name.asf" >"$T/gst-$name.log" 2>&1 ||
    fail "$name: mmssrc could not play $url: $(grep -A1 'debug info' "$T/gst-$name.log" | tail -n1)"
  gst_frames "file://$T/got-$name.asf" "$T/got-$name.frames"
  compare_lines "$name: $url decoded" "$T/want.frames" "$T/got-$name.frames"
}
play digest-mmsh "mmsh://127.0.0.1:$DIGEST_PORT/$F" user-id=alice user-pw=s3cret
play digest-rtspt "mms://127.0.0.1:$RTSP_PORT/$F" protocols=rtspt user-id=alice user-pw=s3cret
# ... and the NTLM-only one.
play ntlm-mmsh "mmsh://127.0.0.1:$NTLM_PORT/$F" user-id=alice user-pw=s3cret
# (gst-launch-1.0 takes a backslash as an escape: two make one)
play ntlm-rtspt "mms://127.0.0.1:$NTLM_RTSP/$F" protocols=rtspt user-id='CORP\\alice' \
  user-pw=s3cret
if run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-launch-1.0 mmssrc \
  location="mmsh://127.0.0.1:$NTLM_PORT/$F" user-id=alice user-pw=wrong timeout=10 ! \
  fakesink >"$T/gst-ntlm-wrong.log" 2>&1; then
  fail "ntlm: a wrong password played"
fi
grep -q 'server rejected the credentials' "$T/gst-ntlm-wrong.log" ||
  fail "ntlm, wrong password: not a clear error: $(grep -A1 ERROR "$T/gst-ntlm-wrong.log")"
if run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-launch-1.0 mmssrc \
  location="mmsh://127.0.0.1:$DIGEST_PORT/$F" user-id=alice user-pw=wrong timeout=10 ! \
  fakesink >"$T/gst-wrong.log" 2>&1; then
  fail "a wrong password played"
fi
grep -q 'server rejected the credentials' "$T/gst-wrong.log" ||
  fail "wrong password: not a clear error: $(grep -A1 ERROR "$T/gst-wrong.log")"
log "PASS"
