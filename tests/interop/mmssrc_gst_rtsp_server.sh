#!/usr/bin/env bash
# mmssrc against an RTSP/ASF server we did not write: gst-rtsp-server with
# rtpasfpay (one m=application line carrying the whole ASF mux, the header
# in a=fmtp config=, no "Server: WMServer", no EndOfStream request: the end
# is the RTCP BYE). mmssrc pinned to RTSP over TCP (rtspt://) and UDP
# (rtspu://) records what it outputs; FFmpeg must find in the recording
# exactly the packets gst-rtsp-server sends (stream copy checksums), and
# decode it to the same frames.
#
# What gst-rtsp-server sends: rtpasfpay (gst-plugins-ugly 1.22) never
# payloads the last ASF data packet of the file (asfparse hands it 131
# packets of av-wmv2-wma2-10s.asf, it sends 130: its last RTP packets carry
# the packet at 9.846 s, not the one at 9.984 s). GStreamer's own client
# sees the same: rtspsrc ! rtpasfdepay records 130 packets, asfdemux gives
# 215 of 216 audio and 249 of 250 video frames. So the reference is the local
# file cut after the packets that server really sends, measured here with
# rtspsrc ! rtpasfdepay, whose recording must itself equal that cut file
# packet for packet; at most the last packet may be missing, anything else
# fails.
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

# The file's layout: header (with the Data Object prefix), packet size, count.
read -r HEAD_BYTES PACKET_SIZE PACKETS < <("$SYS_PYTHON" - "$MEDIA/$f" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
hsize = struct.unpack_from('<Q', d, 16)[0]
fprop = bytes.fromhex('a1dcab8c47a9cf118ee400c00c205365')
pos, psize = 30, 0
while pos + 24 <= hsize:
    size = struct.unpack_from('<Q', d, pos + 16)[0]
    if d[pos:pos + 16] == fprop:
        psize = struct.unpack_from('<I', d, pos + 92)[0]
    if size < 24:
        break
    pos += size
count = struct.unpack_from('<Q', d, hsize + 40)[0]
print(hsize + 50, psize, count)
PY
)
[[ "${PACKET_SIZE:-0}" -gt 0 && "${PACKETS:-0}" -gt 1 ]] || fail "cannot read the layout of $f"

# What gst-rtsp-server really sends, as GStreamer's own RTSP client records it.
# At the end gst-rtsp-server may close the connection before rtspsrc's own
# PAUSE/TEARDOWN, which rtspsrc then reports as an error ("Could not send
# message. (Received end-of-file)"); the recording is complete by then and is
# checked packet by packet below. Any other error fails.
if ! run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-launch-1.0 -q rtspsrc location="$URL" protocols=tcp ! \
  rtpasfdepay ! filesink location="$T/rtspsrc.asf" >"$T/gst-rtspsrc.log" 2>&1; then
  if grep '^ERROR' "$T/gst-rtspsrc.log" | grep -qv 'Could not write to resource\|preroll'; then
    fail "rtspsrc could not record from gst-rtsp-server"
  fi
  grep -q 'Received end-of-file' "$T/gst-rtspsrc.log" ||
    fail "rtspsrc could not record from gst-rtsp-server"
  log "rtspsrc reported the server's close after the end of the stream; checking its recording"
fi
got_bytes=$(stat -c %s "$T/rtspsrc.asf")
(( got_bytes >= HEAD_BYTES && (got_bytes - HEAD_BYTES) % PACKET_SIZE == 0 )) ||
  fail "rtspsrc's recording ($got_bytes bytes) is not whole packets of $PACKET_SIZE after $HEAD_BYTES"
SENT=$(( (got_bytes - HEAD_BYTES) / PACKET_SIZE ))
log "gst-rtsp-server sends $SENT of the $PACKETS packets of $f"
(( SENT == PACKETS || SENT == PACKETS - 1 )) ||
  fail "gst-rtsp-server sent $SENT of $PACKETS packets (only the last may be missing)"
head -c $(( HEAD_BYTES + SENT * PACKET_SIZE )) "$MEDIA/$f" >"$T/sent.asf"
framemd5_copy "$T/sent.asf" >"$T/want.md5"
framemd5_decoded "$T/sent.asf" >"$T/want-dec.md5"
framemd5_copy "$T/rtspsrc.asf" >"$T/rtspsrc.md5" 2>"$T/ffmpeg.log" ||
  fail "ffmpeg cannot read rtspsrc's recording"
compare_lines "$f packets via rtspsrc from gst-rtsp-server" "$T/want.md5" "$T/rtspsrc.md5"
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
