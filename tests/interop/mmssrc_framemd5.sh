#!/usr/bin/env bash
# End to end through our element, with FFmpeg as the judge.
#
#   gst-launch-1.0 mmssrc location=mmsh://127.0.0.1:PORT/FILE ! filesink location=got.asf
# records what mmssrc outputs (the ASF header followed by padded data
# packets).  FFmpeg must find in got.asf exactly the packets of the local
# file (stream copy checksums) and decode it to exactly the same frames.
# With the multi-bitrate file and connection-speed=200 (kbit/s), only the
# 100 kbit/s video stream and the audio stream may carry packets, and those
# must equal the local file's packets of the same streams.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need ffmpeg gst-launch-1.0 python3
ensure_media
gst_env
start_server --fast

record() {  # record FILE OUT [mmssrc properties...]
  local f=$1 out=$2; shift 2
  run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-launch-1.0 -q mmssrc location="mmsh://127.0.0.1:$SERVER_PORT/$f" "$@" ! \
    filesink location="$out" >"$T/gst-$(basename "$out").log" 2>&1 ||
    fail "$f: gst-launch-1.0 mmssrc failed"
  log "$f: mmssrc wrote $(stat -c %s "$out") bytes (file on the server: $(stat -c %s "$MEDIA/$f"))"
}

for f in av-wmv2-wma2-10s.asf audio-wma2-10s.wma; do
  record "$f" "$T/got-$f"
  framemd5_copy "$MEDIA/$f" >"$T/want.md5"
  framemd5_copy "$T/got-$f" >"$T/got.md5" 2>"$T/ffmpeg.log" || fail "$f: ffmpeg cannot read mmssrc output"
  compare_lines "$f packets via mmssrc vs local file" "$T/want.md5" "$T/got.md5"
  framemd5_decoded "$MEDIA/$f" >"$T/want-dec.md5"
  framemd5_decoded "$T/got-$f" >"$T/got-dec.md5" 2>"$T/ffmpeg.log" || fail "$f: ffmpeg cannot decode mmssrc output"
  compare_lines "$f decoded via mmssrc vs local file" "$T/want-dec.md5" "$T/got-dec.md5"
done

# Stream selection: streams 1 (300k video), 2 (100k video), 3 (64k audio),
# bitrate-exclusive 1/2.  At 200 kbit/s the element must pick 2 and 3.
f=mbr-sbp-mutex-10s.asf
record "$f" "$T/got-mbr.asf" connection-speed=200
expect_asf_streams "$f" "$T/got-mbr.asf" "2 3" "stream selection at 200 kbit/s"
# Without a connection speed (and a loopback link too fast to measure): the
# best stream of each group, the 300k video and the audio.
record "$f" "$T/got-mbr-best.asf"
expect_asf_streams "$f" "$T/got-mbr-best.asf" "1 3" "stream selection without a limit"
log "PASS"
