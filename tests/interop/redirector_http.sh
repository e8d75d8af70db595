#!/usr/bin/env bash
# Redirector files over plain HTTP, as a web page or a Windows Media server
# hands them to a player: Python's http.server (not ours) serves an ASX
# playlist and a [Reference] file pointing at mms-server, and mms-server
# itself answers an http:// URL asked by souphttpsrc with the MMSH describe
# answer. uridecodebin typefinds each, mmsredirect posts the `redirect`
# message, and tests/interop/gst_frames_follow.py acts on it as Totem does; the
# frames decoded from the final location must equal the local file's.
# gst-launch-1.0 (which does not act on the message) must end in an error
# naming the new location.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need gst-launch-1.0
gst-inspect-1.0 souphttpsrc >/dev/null 2>&1 || skip "souphttpsrc is not installed"
ensure_media
gst_env
start_server
MMSH=$SERVER_PORT

WEB="$T/web"
mkdir -p "$WEB"
AV=av-wmv2-wma2-10s.asf
AUDIO=audio-wma2-10s.wma
cat >"$WEB/radio.asx" <<ASX
<?xml version="1.0"?>
<!-- the station's page links this file -->
<ASX Version="3.0">
  <Title>Station &amp; friends</Title>
  <Entry>
    <Title>Live</Title>
    <Ref href="mmsh://127.0.0.1:$MMSH/$AV" />
    <Ref href="mms://127.0.0.1:1/unreachable.asf" />
  </Entry>
  <ENTRY><REF HREF="mmsh://127.0.0.1:$MMSH/$AUDIO"/></ENTRY>
</ASX>
ASX
printf '[Reference]\r\nRef1=http://127.0.0.1:%s/%s?MSWMExt=.asf\r\n' "$MMSH" "$AUDIO" >"$WEB/listen.wax"

: >"$T/http.out"
"$SYS_PYTHON" -u -m http.server --bind 127.0.0.1 --directory "$WEB" 0 >"$T/http.out" 2>"$T/http.log" &
_pids+=($!)
HTTP=
for ((i = 0; i < 100; i++)); do
  HTTP=$(sed -n 's/.* port \([0-9][0-9]*\).*/\1/p' "$T/http.out" | head -n1)
  [[ -n "$HTTP" ]] && break
  sleep 0.1
done
[[ -n "$HTTP" ]] || fail "http.server printed no port"
log "http.server on 127.0.0.1:$HTTP"

frames() {  # frames NAME URI: decoded frames of URI (following redirects) into $T/NAME.txt
  run 90 "${GST_RUN[@]}" "$SYS_PYTHON" "$INTEROP_DIR/gst_frames_follow.py" --follow-redirects "$2" \
    >"$T/$1.txt" 2>"$T/$1.log" || fail "$1: $2 did not play to the end: $(tail -n 3 "$T/$1.log" | tr '\n' ' ')"
}
run 60 "${GST_RUN[@]}" "$SYS_PYTHON" "$INTEROP_DIR/gst_frames.py" "file://$MEDIA/$AV" >"$T/want-av.txt" \
  2>"$T/local.log" || fail "cannot decode $AV locally"
run 60 "${GST_RUN[@]}" "$SYS_PYTHON" "$INTEROP_DIR/gst_frames.py" "file://$MEDIA/$AUDIO" >"$T/want-audio.txt" \
  2>>"$T/local.log" || fail "cannot decode $AUDIO locally"

# 1. ASX: the first entry's first ref, the list of every ref in the message.
frames asx "http://127.0.0.1:$HTTP/radio.asx"
grep -qx "redirect mmsh://127.0.0.1:$MMSH/$AV 3" "$T/asx.log" ||
  fail "ASX: no redirect to the first ref with 3 locations: $(grep redirect "$T/asx.log" || true)"
compare_lines "ASX -> mmsh:// $AV vs local file" "$T/want-av.txt" "$T/asx.txt"

# 2. [Reference] file: its http:// ref is an MMSH stream.
frames ref "http://127.0.0.1:$HTTP/listen.wax"
grep -qx "redirect mmsh://127.0.0.1:$MMSH/$AUDIO?MSWMExt=.asf 1" "$T/ref.log" ||
  fail "reference: no redirect to mmsh://: $(grep redirect "$T/ref.log" || true)"
compare_lines "[Reference] -> mmsh:// $AUDIO vs local file" "$T/want-audio.txt" "$T/ref.txt"

# 3. The server's describe answer to a plain HTTP GET.
frames describe "http://127.0.0.1:$MMSH/$AV"
grep -qx "redirect mmsh://127.0.0.1:$MMSH/$AV 1" "$T/describe.log" ||
  fail "describe: no redirect to mmsh://: $(grep redirect "$T/describe.log" || true)"
compare_lines "describe answer -> mmsh:// $AV vs local file" "$T/want-av.txt" "$T/describe.txt"

# 4. An application that ignores the message gets an error naming the location.
if run 60 "${GST_RUN[@]}" gst-launch-1.0 playbin "uri=http://127.0.0.1:$HTTP/radio.asx" \
  video-sink=fakesink audio-sink=fakesink >"$T/launch.log" 2>&1; then
  fail "gst-launch-1.0 playbin of an ASX ended without an error"
fi
grep -q "another location: mmsh://127.0.0.1:$MMSH/$AV" "$T/launch.log" ||
  fail "gst-launch-1.0: the error does not name the location: $(grep -m2 ERROR "$T/launch.log" || true)"

# 5. mmssrc given the http:// URLs itself: MMSH to the server, and the
#    redirector files followed inside the element (no message needed).
for case in "asx:radio.asx:want-av" "ref:listen.wax:want-audio"; do
  IFS=: read -r name file want <<<"$case"
  run 90 "${GST_RUN[@]}" "$SYS_PYTHON" "$INTEROP_DIR/gst_frames_follow.py" --mmssrc \
    "http://127.0.0.1:$HTTP/$file" >"$T/mmssrc-$name.txt" 2>"$T/mmssrc-$name.log" ||
    fail "mmssrc location=http://.../$file did not play: $(tail -n 3 "$T/mmssrc-$name.log" | tr '\n' ' ')"
  compare_lines "mmssrc location=http://.../$file vs local file" "$T/$want.txt" "$T/mmssrc-$name.txt"
done
run 90 "${GST_RUN[@]}" "$SYS_PYTHON" "$INTEROP_DIR/gst_frames_follow.py" --mmssrc \
  "http://127.0.0.1:$MMSH/$AV" >"$T/mmssrc-http.txt" 2>"$T/mmssrc-http.log" ||
  fail "mmssrc location=http://server/$AV did not play: $(tail -n 3 "$T/mmssrc-http.log" | tr '\n' ' ')"
compare_lines "mmssrc location=http://server/$AV (MMSH) vs local file" "$T/want-av.txt" "$T/mmssrc-http.txt"

# 6. A redirector with no usable ref is a clear error, not a hang.
printf '<asx><entry><ref href="file:///etc/passwd"/></entry></asx>\n' >"$WEB/bad.asx"
if run 60 "${GST_RUN[@]}" "$SYS_PYTHON" "$INTEROP_DIR/gst_frames_follow.py" --follow-redirects \
  "http://127.0.0.1:$HTTP/bad.asx" >"$T/bad.txt" 2>"$T/bad.log"; then
  fail "an ASX with only a file:// ref played"
fi
grep -q "no REF with a usable URL" "$T/bad.log" || fail "bad ASX: unclear error: $(tail -n 2 "$T/bad.log")"
log "PASS"
