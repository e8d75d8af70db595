#!/usr/bin/env bash
# VLC 3 (an independent MMS client, access_mms) against our mms-server over
# MMS/TCP (mmst://) and MMS/UDP (mmsu://).
#
# VLC (as the unprivileged user mmstest: it refuses to run as root) records
#   mmst://127.0.0.1:PORT/av-wmv2-wma2-10s.asf   (then mmsu://)
# into an ASF file for a few seconds (--run-time).  VLC remuxes, so the
# timestamps of what it writes are its own; the packet payloads are not: every
# FFmpeg packet checksum (size + MD5, stream copy) of the recording must be
# one of the local file's, and there must be at least 100 of them.
# The server is paced (real time): VLC's reader prefers buffered TCP over
# buffered UDP, so with a server that sends a whole file at once over UDP the
# ReportEndOfStream on TCP overtakes the media datagrams and VLC gives up
# ("cannot start stream").
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need cvlc ffmpeg runuser
as_vlc_user
ensure_media
start_server  # paced (real time), as a real server
MMS_PORT=$(sed -n 's/.* mms=\([0-9][0-9]*\).*/\1/p' "$T/server.out" | head -n1)
[[ -n "$MMS_PORT" ]] || fail "mms-server printed no mms= port"

f=av-wmv2-wma2-10s.asf
chmod 755 "$T"
OUT="$T/vlc-out"
mkdir -p "$OUT"
chmod 777 "$OUT"
framemd5_copy "$MEDIA/$f" >"$T/want.md5"
# Size and MD5 of each packet (stream indexes and timestamps may differ).
awk -F', *' 'NF >= 6 { print $5 "," $6 }' "$T/want.md5" | sort -u >"$T/want.keys"

for scheme in mmst mmsu; do
  url="$scheme://127.0.0.1:$MMS_PORT/$f"
  rec="$OUT/$scheme.asf"
  # VLC's exit status is not meaningful with vlc://quit; judge the recording.
  # (No --no-audio/--no-video: access_mms would deselect those streams.)
  run "$CMD_TIMEOUT" "${as_vlc[@]}" cvlc --run-time 6 "$url" \
    --sout "#std{access=file,mux=asf,dst=$rec}" vlc://quit >"$T/vlc-$scheme.log" 2>&1 || true
  if grep -q 'unknown answer (0x11 instead of 0x21)' "$T/vlc-$scheme.log"; then
    # VLC reads the header from UDP, leaves LinkMacToViewerReportReadBlock
    # (0x11) unread on TCP, then needs its reply to StreamSwitch (0x21) to
    # arrive in a later read than the 0x11: it only does so when the server
    # writes ReportReadBlock on TCP before the header datagrams.
    fail "$scheme: VLC got ReportReadBlock after the UDP header (server sent the header datagram before the TCP reply)"
  fi
  [[ -s "$rec" ]] || fail "$scheme: VLC wrote nothing from $url"
  framemd5_copy "$rec" >"$T/got-$scheme.md5" 2>"$T/ffmpeg-$scheme.log" ||
    fail "$scheme: ffmpeg cannot read what VLC recorded"
  awk -F', *' 'NF >= 6 { print $5 "," $6 }' "$T/got-$scheme.md5" | sort >"$T/got-$scheme.keys"
  n=$(wc -l <"$T/got-$scheme.keys")
  extra=$(comm -13 "$T/want.keys" <(sort -u "$T/got-$scheme.keys") | wc -l)
  log "$scheme: VLC recorded $n packets ($(wc -l <"$T/want.md5") in the file), $extra not of the file"
  [[ $extra -eq 0 ]] || fail "$scheme: $extra packets recorded by VLC are not packets of $f"
  [[ $n -ge 100 ]] || fail "$scheme: only $n packets recorded, expected at least 100"
done
log "PASS"
