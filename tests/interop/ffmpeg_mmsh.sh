#!/usr/bin/env bash
# FFmpeg (an independent MMSH client) against our mms-server.
#
# For each file: the packet checksums FFmpeg computes while reading
#   mmsh://127.0.0.1:PORT/FILE
# must equal those it computes from the local file (stream copy, framemd5).
# Then a time seek: `ffmpeg -ss 5 -copyts -i mmsh://...` must start near 5 s
# (FFmpeg's MMSH client implements the seek by reconnecting with stream-time).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need ffmpeg
ensure_media
start_server --fast

files=(av-wmv2-wma2-10s.asf audio-wma2-10s.wma)
[[ -f "$MEDIA/taglib-silence-1.wma" ]] && files+=(taglib-silence-1.wma)

for f in "${files[@]}"; do
  framemd5_copy "$MEDIA/$f" >"$T/want.md5"
  framemd5_copy "mmsh://127.0.0.1:$SERVER_PORT/$f" >"$T/got.md5" 2>"$T/ffmpeg.log" ||
    fail "$f: ffmpeg could not read mmsh://127.0.0.1:$SERVER_PORT/$f"
  compare_lines "$f over MMSH vs local file" "$T/want.md5" "$T/got.md5"
done

f=av-wmv2-wma2-10s.asf
framemd5_copy "mmsh://127.0.0.1:$SERVER_PORT/$f" -ss 5 -copyts >"$T/seek.md5" 2>"$T/ffmpeg-seek.log" ||
  fail "$f: ffmpeg seek over MMSH failed"
first=$(first_pts_seconds "$T/seek.md5") || fail "seek: no frames after seeking"
framemd5_copy "$MEDIA/$f" -ss 5 -copyts >"$T/seek-local.md5"
local_first=$(first_pts_seconds "$T/seek-local.md5")
log "seek to 5 s: first pts over MMSH ${first} s (local file: ${local_first} s), $(wc -l <"$T/seek.md5") frames"
awk -v p="$first" 'BEGIN { exit !(p >= 3.0 && p <= 6.0) }' ||
  fail "seek to 5 s started at ${first} s, expected 3..6 s"
# Every packet after the seek must be a packet of the file (pts aside).
framemd5_copy "$MEDIA/$f" >"$T/want-av.md5"
awk -F', *' '{ print $1 "," $4 "," $5 "," $6 }' "$T/want-av.md5" | sort >"$T/want-av.keys"
awk -F', *' '{ print $1 "," $4 "," $5 "," $6 }' "$T/seek.md5" | sort >"$T/seek.keys"
extra=$(comm -13 "$T/want-av.keys" "$T/seek.keys" | wc -l)
[[ $extra -eq 0 ]] || fail "seek: $extra frames after the seek are not frames of the file"
log "seek: all $(wc -l <"$T/seek.md5") frames after the seek match frames of the file"
log "PASS"
