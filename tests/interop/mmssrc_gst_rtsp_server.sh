#!/usr/bin/env bash
# mmssrc against an RTSP/ASF server we did not write: gst-rtsp-server with
# rtpasfpay (one m=application line carrying the whole ASF mux, the header
# in a=fmtp config=, no "Server: WMServer"). mmssrc pinned to RTSP over TCP
# (rtspt://) and UDP (rtspu://) records what it outputs; FFmpeg must find in
# the recording exactly the packets of the local file (stream copy
# checksums), and decode it to the same frames.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need ffmpeg gst-launch-1.0
"$SYS_PYTHON" -c 'import gi; gi.require_version("GstRtspServer", "1.0")' 2>/dev/null ||
  skip "gst-rtsp-server's GObject introspection data is not installed"
ensure_media
gst_env

f=av-wmv2-wma2-10s.asf
"$SYS_PYTHON" "$INTEROP_DIR/rtsp_asf_server.py" "$MEDIA/$f" >"$T/rtsp-server.out" 2>"$T/rtsp-server.log" &
_pids+=($!)
URL=
for ((i = 0; i < 200; i++)); do
  URL=$(sed -n 's/^serving \(rtsp:.*\)$/\1/p' "$T/rtsp-server.out" | head -n1)
  [[ -n "$URL" ]] && break
  kill -0 "${_pids[-1]}" 2>/dev/null || fail "gst-rtsp-server exited before it was ready"
  sleep 0.1
done
[[ -n "$URL" ]] || fail "gst-rtsp-server printed no URL within 20 s"
log "gst-rtsp-server serving $URL"

framemd5_copy "$MEDIA/$f" >"$T/want.md5"
framemd5_decoded "$MEDIA/$f" >"$T/want-dec.md5"
for scheme in rtspt rtspu; do
  u="$scheme${URL#rtsp}"
  run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-launch-1.0 -q mmssrc location="$u" timeout=10 ! \
    filesink location="$T/got.asf" >"$T/gst-$scheme.log" 2>&1 ||
    fail "$scheme: gst-launch-1.0 mmssrc failed ($(tail -n 3 "$T/gst-$scheme.log" | tr '\n' ' '))"
  log "$scheme: mmssrc wrote $(stat -c %s "$T/got.asf") bytes"
  framemd5_copy "$T/got.asf" >"$T/got.md5" 2>"$T/ffmpeg.log" || fail "$scheme: ffmpeg cannot read the recording"
  compare_lines "$f packets via mmssrc ($scheme) from gst-rtsp-server" "$T/want.md5" "$T/got.md5"
  framemd5_decoded "$T/got.asf" >"$T/got-dec.md5" 2>"$T/ffmpeg.log" || fail "$scheme: ffmpeg cannot decode the recording"
  compare_lines "$f decoded via mmssrc ($scheme) from gst-rtsp-server" "$T/want-dec.md5" "$T/got-dec.md5"
done
log "PASS"
