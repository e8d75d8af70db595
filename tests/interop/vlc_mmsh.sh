#!/usr/bin/env bash
# VLC (an independent live MMSH server) feeding our element.
#
# VLC serves a 60 s clip live over MMSH (as the unprivileged user mmstest:
# VLC refuses to run as root).  Its ASF header declares one more header
# object than it contains, which asfdemux rejects, so this also checks that
# mmssrc repairs the header.  A live join cannot be compared frame by frame;
# instead the pipeline
#   mmssrc ! identity eos-after=100 ! asfdemux ! (video) avdec_wmv2 ! filesink
#                                               (audio) avdec_wmav2 ! filesink
# (100 buffers of the live stream, then end of stream) must finish without
# error, and both decoded outputs must hold at least 2 s of raw media (sizes
# checked against the raw formats).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need cvlc ffmpeg gst-launch-1.0 runuser python3
as_vlc_user
ensure_media
gst_env

# The clip must outlast the test: VLC restarts the stream (a new header) at
# every loop of the input.
chmod 755 "$T"
cp "$MEDIA/av-wmv2-wma2-60s.asf" "$T/clip.asf"
chmod 644 "$T/clip.asf"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${as_vlc[@]}" cvlc -q --no-audio --no-video --loop "$T/clip.asf" \
  --sout "#std{access=mmsh,mux=asfh,dst=127.0.0.1:$PORT}" --sout-keep >"$T/vlc.log" 2>&1 &
_pids+=($!)
ready=
deadline=$((SECONDS + 30))
while ((SECONDS < deadline)); do
  # Ready once a describe returns the ASF header ($H): before its muxer has
  # produced one, VLC answers 200 with an empty body.
  run 5 curl -s -o "$T/describe.bin" --max-time 3 "http://127.0.0.1:$PORT/" || true
  if [[ -s "$T/describe.bin" && $(head -c 2 "$T/describe.bin") == '$H' ]]; then ready=1; break; fi
  kill -0 "${_pids[-1]}" 2>/dev/null || fail "VLC exited before it was ready"
  sleep 0.2
done
[[ -n "$ready" ]] || fail "VLC MMSH server did not answer on 127.0.0.1:$PORT"
log "VLC live MMSH server on 127.0.0.1:$PORT"

# Ending the input (rather than one decoded branch) makes the whole pipeline
# drain and stop; asfdemux stalls the other branch when one pad returns EOS.
BUFFERS=100
run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-launch-1.0 -q mmssrc location="mmsh://127.0.0.1:$PORT/" ! \
    identity eos-after=$BUFFERS ! asfdemux name=d \
  d.video_0 ! queue ! avdec_wmv2 ! videoconvert ! video/x-raw,format=I420 ! \
    filesink sync=false location="$T/video.raw" \
  d.audio_0 ! queue ! avdec_wmav2 ! audioconvert ! audio/x-raw,format=S16LE,channels=2 ! \
    filesink sync=false location="$T/audio.raw" \
  >"$T/gst.log" 2>&1 || fail "gst-launch-1.0 failed (exit $?)"

vbytes=$(stat -c %s "$T/video.raw" 2>/dev/null || echo 0)
abytes=$(stat -c %s "$T/audio.raw" 2>/dev/null || echo 0)
frame=$((320 * 240 * 3 / 2))           # I420 320x240
vsec=$(awk -v b="$vbytes" -v f="$frame" 'BEGIN { printf "%.2f", b / f / 25 }')
asec=$(awk -v b="$abytes" 'BEGIN { printf "%.2f", b / (44100 * 4) }')
log "decoded video: $vbytes bytes = $((vbytes / frame)) frames = ${vsec} s; audio: $abytes bytes = ${asec} s"
awk -v v="$vsec" -v a="$asec" 'BEGIN { exit !(v >= 2.0 && a >= 2.0) }' ||
  fail "expected at least 2 s of decoded audio and video"
log "PASS"
