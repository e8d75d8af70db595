#!/usr/bin/env bash
# FFmpeg's MMS/TCP client (mmst://) against our mms-server.
#
# For each file: the packet checksums FFmpeg computes while reading
#   mmst://127.0.0.1:PORT/FILE
# must equal those it computes from the local file (stream copy, framemd5).
# FFmpeg's mmst client cannot seek; it checks every reply's HRESULT and needs
# the strict reply order of MS-MMSP (ReportReadBlock before the header, etc.).
# A missing file must fail (ReportOpenFile with HRESULT file not found).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need ffmpeg
ensure_media
start_server --fast
MMS_PORT=$(sed -n 's/.* mms=\([0-9][0-9]*\).*/\1/p' "$T/server.out" | head -n1)
[[ -n "$MMS_PORT" ]] || fail "mms-server printed no mms= port"

files=(av-wmv2-wma2-10s.asf audio-wma2-10s.wma mbr-sbp-mutex-10s.asf)
[[ -f "$MEDIA/taglib-silence-1.wma" ]] && files+=(taglib-silence-1.wma)

for f in "${files[@]}"; do
  [[ -f "$MEDIA/$f" ]] || continue
  framemd5_copy "$MEDIA/$f" >"$T/want.md5"
  framemd5_copy "mmst://127.0.0.1:$MMS_PORT/$f" >"$T/got.md5" 2>"$T/ffmpeg.log" ||
    fail "$f: ffmpeg could not read mmst://127.0.0.1:$MMS_PORT/$f"
  compare_lines "$f over MMS/TCP vs local file" "$T/want.md5" "$T/got.md5"
done

if run "$CMD_TIMEOUT" "${FF[@]}" -i "mmst://127.0.0.1:$MMS_PORT/no-such-file.asf" -f null - \
  2>"$T/ffmpeg-missing.log"; then
  fail "ffmpeg read a file that does not exist"
fi
grep -q '0x80070002' "$T/ffmpeg-missing.log" ||
  fail "missing file: FFmpeg did not see HRESULT 0x80070002 ($(head -c 300 "$T/ffmpeg-missing.log"))"
log "missing file: refused with HRESULT 0x80070002"
log "PASS"
