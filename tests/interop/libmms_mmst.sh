#!/usr/bin/env bash
# libmms (an independent MMS client library) over MMS/TCP against our mms-server.
#
# tests/interop/mmsclient.c, built against the system libmms, downloads
#   mmst://127.0.0.1:PORT/av-wmv2-wma2-10s.asf
# (mmsx_connect tries MMS/TCP first).  The output file must demux in
# GStreamer's asfdemux and its FFmpeg packet checksums must equal the local
# file's.  Then mmsx_time_seek(5 s): libmms sends a new StartPlaying while the
# first play is running (no StopPlaying); the received packets must start
# near 5 s and all be packets of the file.  The server runs paced (real time):
# a fast server would finish the first play, and libmms takes the
# EndOfStream that follows for the end of the seek too.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need cc pkg-config ffmpeg gst-launch-1.0
pkg-config --exists libmms || skip "libmms development files are not installed"
build_c "$T/mmsclient" "$INTEROP_DIR/mmsclient.c" libmms
ensure_media
start_server
MMS_PORT=$(sed -n 's/.* mms=\([0-9][0-9]*\).*/\1/p' "$T/server.out" | head -n1)
[[ -n "$MMS_PORT" ]] || fail "mms-server printed no mms= port"

f=av-wmv2-wma2-10s.asf
url="mmst://127.0.0.1:$MMS_PORT/$f"
run "$CMD_TIMEOUT" "$T/mmsclient" "$url" "$T/got.asf" 2>"$T/mmsclient.log" ||
  fail "mmsclient could not read $url"
log "$(grep 'header_len=' "$T/mmsclient.log" || true)"
grep -q 'seekable=1' "$T/mmsclient.log" || fail "libmms reports the on-demand file as not seekable"
run "$CMD_TIMEOUT" gst-launch-1.0 -q filesrc location="$T/got.asf" ! asfdemux name=d \
  d. ! queue ! fakesink d. ! queue ! fakesink >"$T/gst.log" 2>&1 ||
  fail "asfdemux cannot play what libmms received"
log "asfdemux plays the received file"
framemd5_copy "$MEDIA/$f" >"$T/want.md5"
framemd5_copy "$T/got.asf" >"$T/got.md5" 2>"$T/ffmpeg.log" || fail "ffmpeg cannot read what libmms received"
compare_lines "$f via libmms over MMS/TCP vs local file" "$T/want.md5" "$T/got.md5"

# Time seek (libmms adds the preroll to the position it sends).
run "$CMD_TIMEOUT" "$T/mmsclient" -s 5 "$url" "$T/seek.asf" 2>"$T/mmsclient-seek.log" ||
  fail "mmsclient seek to 5 s failed"
log "$(grep -E 'time_seek|read ' "$T/mmsclient-seek.log" | tr '\n' ' ')"
framemd5_copy "$T/seek.asf" -copyts >"$T/seek.md5" 2>"$T/ffmpeg-seek.log" ||
  fail "ffmpeg cannot read what libmms received after the seek"
first=$(first_pts_seconds "$T/seek.md5") || fail "seek: no frames after seeking"
log "seek to 5 s: first pts ${first} s, $(wc -l <"$T/seek.md5") frames (whole file: $(wc -l <"$T/want.md5"))"
awk -v p="$first" 'BEGIN { exit !(p >= 3.0 && p <= 5.5) }' ||
  fail "seek to 5 s started at ${first} s, expected 3..5.5 s"
awk -F', *' '{ print $1 "," $4 "," $5 "," $6 }' "$T/want.md5" | sort >"$T/want.keys"
awk -F', *' '{ print $1 "," $4 "," $5 "," $6 }' "$T/seek.md5" | sort >"$T/seek.keys"
extra=$(comm -13 "$T/want.keys" "$T/seek.keys" | wc -l)
[[ $extra -eq 0 ]] || fail "seek: $extra frames after the seek are not frames of the file"
log "PASS"
