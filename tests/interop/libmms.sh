#!/usr/bin/env bash
# libmms (an independent MMS/MMSH client library) against our mms-server.
#
# tests/interop/mmsclient.c, built against the system libmms, downloads
#   mmsh://127.0.0.1:PORT/av-wmv2-wma2-10s.asf
# libmms writes the ASF header and the data packets padded to the packet
# size; FFmpeg's packet checksums of that file must equal those of the local
# file.  Then mmsx_time_seek(5 s): the received packets must start near 5 s
# and every one of them must be a packet of the file.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need cc pkg-config ffmpeg
pkg-config --exists libmms || skip "libmms development files are not installed"
build_c "$T/mmsclient" "$INTEROP_DIR/mmsclient.c" libmms
ensure_media
start_server --fast

f=av-wmv2-wma2-10s.asf
url="mmsh://127.0.0.1:$SERVER_PORT/$f"
run "$CMD_TIMEOUT" "$T/mmsclient" "$url" "$T/got.asf" 2>"$T/mmsclient.log" ||
  fail "mmsclient could not read $url"
log "$(grep 'header_len=' "$T/mmsclient.log" || true)"
log "$(grep 'read ' "$T/mmsclient.log" || true); local file $(stat -c %s "$MEDIA/$f") bytes"
grep -q 'seekable=1' "$T/mmsclient.log" || fail "libmms reports the on-demand file as not seekable"
framemd5_copy "$MEDIA/$f" >"$T/want.md5"
framemd5_copy "$T/got.asf" >"$T/got.md5" 2>"$T/ffmpeg.log" || fail "ffmpeg cannot read what libmms received"
compare_lines "$f via libmms vs local file" "$T/want.md5" "$T/got.md5"

# Time seek.
run "$CMD_TIMEOUT" "$T/mmsclient" -s 5 "$url" "$T/seek.asf" 2>"$T/mmsclient-seek.log" ||
  fail "mmsclient seek to 5 s failed"
log "$(grep -E 'time_seek|read ' "$T/mmsclient-seek.log" | tr '\n' ' ')"
framemd5_copy "$T/seek.asf" -copyts >"$T/seek.md5" 2>"$T/ffmpeg-seek.log" ||
  fail "ffmpeg cannot read what libmms received after the seek"
first=$(first_pts_seconds "$T/seek.md5") || fail "seek: no frames after seeking"
log "seek to 5 s: first pts ${first} s, $(wc -l <"$T/seek.md5") frames (whole file: $(wc -l <"$T/want.md5"))"
# libmms sends stream-time = target + preroll (FFmpeg sends the bare target),
# so depending on how a server reads stream-time the stream may start up to
# one preroll later; anything before 3 s means the seek did not happen.
preroll=$(python3 "$SRC_ROOT/tests/tools/asfobjects.py" "$MEDIA/$f" | sed -n 's/.*preroll=\([0-9]*\)ms.*/\1/p')
upper=$(awk -v r="${preroll:-0}" 'BEGIN { printf "%.3f", 6.0 + r / 1000 }')
awk -v p="$first" -v u="$upper" 'BEGIN { exit !(p >= 3.0 && p <= u) }' ||
  fail "seek to 5 s started at ${first} s, expected 3..${upper} s"
awk -F', *' '{ print $1 "," $4 "," $5 "," $6 }' "$T/want.md5" | sort >"$T/want.keys"
awk -F', *' '{ print $1 "," $4 "," $5 "," $6 }' "$T/seek.md5" | sort >"$T/seek.keys"
extra=$(comm -13 "$T/want.keys" "$T/seek.keys" | wc -l)
[[ $extra -eq 0 ]] || fail "seek: $extra frames after the seek are not frames of the file"
log "PASS"
