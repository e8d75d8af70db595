#!/usr/bin/env bash
# GStreamer's own RTSP client against our RTSP server.
#
# rtspsrc recognises Windows Media Services by the OPTIONS reply's
# "Server: WMServer/..." and its rtspwms extension takes the ASF header from
# the SDP's a=pgmpu line; rtpasfdepay and asfdemux follow (all autoplugged by
# uridecodebin). Over RTP/TCP (interleaved) and RTP/UDP, every decoded frame
# of rtsp://127.0.0.1:PORT/FILE must equal the local file's. The server paces
# in real time, as a Windows Media server does: after an unpaced burst,
# rtspsrc's jitter buffer never forwards the end of stream.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need gst-inspect-1.0
"$SYS_PYTHON" -c 'import gi; gi.require_version("Gst", "1.0")' 2>/dev/null || skip "python3-gi is not installed"
gst-inspect-1.0 rtspsrc >/dev/null 2>&1 || skip "rtspsrc is not installed"
gst-inspect-1.0 rtpasfdepay >/dev/null 2>&1 || skip "rtpasfdepay is not installed"
ensure_media
start_server --rtsp-port 0
RTSP_PORT=$(sed -n 's/.* rtsp=\([0-9][0-9]*\).*/\1/p' "$T/server.out" | head -n1)
[[ -n "$RTSP_PORT" ]] || fail "mms-server printed no rtsp= port"

for case in av-wmv2-wma2-10s.asf:tcp av-wmv2-wma2-10s.asf:udp audio-wma2-10s.wma:tcp; do
  f=${case%%:*} proto=${case##*:}
  run "$CMD_TIMEOUT" "$SYS_PYTHON" "$INTEROP_DIR/gst_frames.py" "file://$MEDIA/$f" >"$T/want.txt" \
    2>"$T/local.log" || fail "$f: cannot decode the local file"
  {
    # rtspsrc now and then keeps its end of stream in the jitter buffer and never
    # finishes, or links a pad after its first data ("Got data flow before
    # segment event") and loses that stream (GStreamer races in the peer, each
    # seen about once in a few dozen runs): up to three tries, each compared
    # frame by frame; one identical run passes.
    ok=
    for try in 1 2 3; do
      if ! run 45 "$SYS_PYTHON" "$INTEROP_DIR/gst_frames.py" "rtsp://127.0.0.1:$RTSP_PORT/$f" \
        "$proto" >"$T/got.txt" 2>"$T/rtspsrc-$proto.log"; then
        log "$f: rtspsrc over $proto did not finish (try $try)"
      elif ! cmp -s "$T/want.txt" "$T/got.txt"; then
        log "$f: rtspsrc over $proto: $(wc -l <"$T/got.txt") of $(wc -l <"$T/want.txt") frames, or different ones (try $try): $(grep -m1 'Got data flow' "$T/rtspsrc-$proto.log" || true)"
      else
        ok=1
        break
      fi
    done
    [[ -n "$ok" ]] ||
      fail "$f: rtspsrc over $proto failed ($(tail -n 3 "$T/rtspsrc-$proto.log" | tr '\n' ' '))"
    compare_lines "$f via rtspsrc ($proto) vs local file" "$T/want.txt" "$T/got.txt"
  }
done
log "PASS"
