#!/usr/bin/env bash
# FFmpeg's RTSP client against our RTSP server.
#
# FFmpeg switches to its Windows Media mode on "Server: WMServer/..." and then
# needs the WMS-style SDP: the ASF header in a=pgmpu, one m= line per ASF
# stream with a=stream:N, the RTX stream set up first over UDP. Over TCP
# (interleaved) and UDP the packet checksums FFmpeg computes while reading
#   rtsp://127.0.0.1:PORT/FILE
# must equal those it computes from the local file (stream copy, framemd5).
#
# The server paces in real time: FFmpeg's UDP reader cannot keep up with an
# unpaced burst (it drops packets as late). FFmpeg ends an RTSP input only on
# RTCP BYE from every stream it knows, the retransmission stream included.
# Over UDP the server's BYEs (media streams and RTX) end it by itself. Over
# TCP FFmpeg never sets up the RTX stream; the server sends the RTX source's
# BYE on the first stream's RTCP channel, so FFmpeg ends by itself there too.
# Both are checked: no I/O timeout is given, only the command's bound.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need ffmpeg
ensure_media
start_server --rtsp-port 0
RTSP_PORT=$(sed -n 's/.* rtsp=\([0-9][0-9]*\).*/\1/p' "$T/server.out" | head -n1)
[[ -n "$RTSP_PORT" ]] || fail "mms-server printed no rtsp= port"

# Checksums only: FFmpeg's RTSP timestamps start from the RTP clock.
md5s() { awk -F', *' 'NF >= 6 { print $1, $NF }' "$1"; }

for case in av-wmv2-wma2-10s.asf:tcp av-wmv2-wma2-10s.asf:udp audio-wma2-10s.wma:tcp; do
  f=${case%%:*} proto=${case##*:}
  framemd5_copy "$MEDIA/$f" >"$T/want.md5"
  md5s "$T/want.md5" >"$T/want.txt"
  {
    framemd5_copy "rtsp://127.0.0.1:$RTSP_PORT/$f" -rtsp_transport "$proto" >"$T/got.md5" \
      2>"$T/ffmpeg-$proto.log" ||
      fail "$f: ffmpeg could not read rtsp://127.0.0.1:$RTSP_PORT/$f over $proto"
    md5s "$T/got.md5" >"$T/got.txt"
    compare_lines "$f over RTSP ($proto) vs local file" "$T/want.txt" "$T/got.txt"
  }
done
log "PASS"
