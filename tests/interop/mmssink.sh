#!/usr/bin/env bash
# mmssink: a GStreamer pipeline as a publishing point, played by clients we
# did not write and by mmssrc, all joining the broadcast after it started.
#
# 1. filesrc ! mmssink (an .asf file, sent in real time): FFmpeg over
#    mmsh:// and rtsp:// (stream copy, framemd5), libmms over mmst:// (MMS/TCP),
#    VLC over mmsh:// (its recording's packets), and mmssrc with the default protocol walk
#    (decoded frames, GStreamer) at the same time. Each one's frames from its
#    join point on must be the file's last frames, to the end (frames_suffix.py).
#    The sink's messages name every transport, and its stats count them.
# 2. videotestsrc is-live=true ! avenc_wmv2 ! asfmux streamable=true ! tee:
#    one branch to a file (the reference), one to mmssink; mmssrc over
#    MMS/TCP and FFmpeg over mmsh:// must get the reference's frames from
#    their join on.
# 3. Two .asf files one after the other (a new header upstream): mmssrc
#    over MMSH must deliver the end of the first, the second header and every
#    packet of the second (a stream change, not an error or an early EOS);
#    through uridecodebin it reaches EOS with the end of the first file's
#    decoded frames and every frame of the second.
# 4. Access control: with url-key, user-id and user-pw, mmssrc with a URL
#    signed by `mms-server --sign-url` and the credentials plays to the end;
#    unsigned, wrongly signed or without the password it gets an
#    authorisation error.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need ffmpeg
need gst-launch-1.0
need gst-inspect-1.0
ensure_media
gst_env
run 30 "${GST_RUN[@]}" gst-inspect-1.0 avenc_wmv2 >/dev/null 2>&1 || skip "no avenc_wmv2 (gstreamer1.0-libav)"
F=av-wmv2-wma2-10s.asf

# serve NAME PIPELINE: runs mmssink_serve.py in the background; sets PORT.
serve() {
  local name=$1 pipeline=$2 i
  : >"$T/serve-$name.out"
  "${GST_RUN[@]}" "$SYS_PYTHON" "$INTEROP_DIR/mmssink_serve.py" "$pipeline" 120 \
    >"$T/serve-$name.out" 2>"$T/serve-$name.log" &
  SERVE_PID=$!
  _pids+=("$SERVE_PID")
  PORT=
  for ((i = 0; i < 200; i++)); do
    PORT=$(sed -n 's/^port \([0-9][0-9]*\)$/\1/p' "$T/serve-$name.out")
    [[ -n "$PORT" && "$PORT" != 0 ]] && break
    kill -0 "$SERVE_PID" 2>/dev/null || fail "$name: the mmssink pipeline ended early: $(cat "$T/serve-$name.out" "$T/serve-$name.log")"
    sleep 0.05
  done
  [[ -n "$PORT" && "$PORT" != 0 ]] || fail "$name: mmssink reported no port"
  log "$name: mmssink listening on 127.0.0.1:$PORT"
}
# served NAME: waits for the serving pipeline's EOS (it exits 0 then).
served() {
  wait "$SERVE_PID" || fail "$1: the mmssink pipeline failed: $(cat "$T/serve-$1.out" "$T/serve-$1.log" | tail -n 5)"
  log "$1: $(grep '^stats' "$T/serve-$1.out")"
}
gst_frames() {  # gst_frames URI OUT
  run "$CMD_TIMEOUT" "${GST_RUN[@]}" "$SYS_PYTHON" "$INTEROP_DIR/gst_frames.py" "$1" >"$2" 2>"$2.log"
}

# --- 1. an .asf file, every client at once ---
framemd5_copy "$MEDIA/$F" >"$T/want.md5"
gst_frames "file://$MEDIA/$F" "$T/want.frames" || fail "GStreamer cannot decode $F"
have_vlc=0
if command -v cvlc >/dev/null && command -v runuser >/dev/null; then
  as_vlc_user
  have_vlc=1
  chmod 755 "$T"
  mkdir -p "$T/vlc-out" && chmod 777 "$T/vlc-out"
fi
if command -v cc >/dev/null && pkg-config --exists libmms 2>/dev/null; then
  build_c "$T/mmsclient" "$INTEROP_DIR/mmsclient.c" libmms
fi
serve file "filesrc location=$MEDIA/$F ! mmssink name=sink bind-address=127.0.0.1 port=0 path=live"
sleep 2  # every client joins the broadcast after its start
pids=()
framemd5_copy "mmsh://127.0.0.1:$PORT/live" >"$T/got-mmsh.md5" 2>"$T/ff-mmsh.log" & pids+=($!)
# MMS/TCP by libmms (FFmpeg's mmst:// client does not end at a broadcast's
# end: after ReportEndOfStream it keeps waiting).
have_libmms=0
if command -v cc >/dev/null && pkg-config --exists libmms 2>/dev/null; then
  have_libmms=1
  "$T/mmsclient" "mmst://127.0.0.1:$PORT/live" "$T/got-libmms.asf" 2>"$T/libmms.log" & pids+=($!)
fi
framemd5_copy "rtsp://127.0.0.1:$PORT/live" -rtsp_transport tcp >"$T/got-rtsp.md5" \
  2>"$T/ff-rtsp.log" & pids+=($!)
gst_frames "mms://127.0.0.1:$PORT/live" "$T/got-mmssrc.frames" & pids+=($!)
if ((have_vlc)); then
  run "$CMD_TIMEOUT" "${as_vlc[@]}" cvlc -vv "mmsh://127.0.0.1:$PORT/live" \
    --sout "#std{access=file,mux=asf,dst=$T/vlc-out/live.asf}" vlc://quit \
    >"$T/vlc.log" 2>&1 & pids+=($!)
fi
names=(ffmpeg-mmsh ffmpeg-rtsp mmssrc)
((have_libmms)) && names+=(libmms)
((have_vlc)) && names+=(vlc)
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || fail "${names[$i]}: the client failed: $(tail -n 3 "$T"/*.log | head -c 2000)"
done
served file
frames_suffix "FFmpeg mmsh://" "$T/want.md5" "$T/got-mmsh.md5" --max-lead 0
if ((have_libmms)); then
  framemd5_copy "$T/got-libmms.asf" >"$T/got-libmms.md5" 2>"$T/ff-libmms.log" ||
    fail "ffmpeg cannot read what libmms received"
  frames_suffix "libmms mmst:// (MMS/TCP)" "$T/want.md5" "$T/got-libmms.md5" --max-lead 0
else
  log "libmms not installed: its client not tried"
fi
frames_suffix "FFmpeg rtsp://" "$T/want.md5" "$T/got-rtsp.md5" --max-lead 0
frames_suffix "mmssrc mms:// (decoded)" "$T/want.frames" "$T/got-mmssrc.frames"
if ((have_vlc)); then
  [[ -s "$T/vlc-out/live.asf" ]] || fail "VLC recorded nothing: $(tail -n 3 "$T/vlc.log")"
  framemd5_copy "$T/vlc-out/live.asf" >"$T/got-vlc.md5" 2>"$T/ff-vlc.log" ||
    fail "ffmpeg cannot read VLC's recording"
  # VLC's recorder may leave out the last few frames (vlc_mmsh_client.sh).
  frames_suffix "VLC mmsh://" "$T/want.md5" "$T/got-vlc.md5" --max-lead 2 --max-tail 5
else
  log "VLC not installed: its client not tried"
fi
transports=(mmsh rtsp)
((have_libmms)) && transports+=(mmst)
for transport in "${transports[@]}"; do
  grep -qE "^disconnected 127\.0\.0\.1 /live $transport 200 [1-9][0-9]*\$" "$T/serve-file.out" ||
    fail "no mms-client-disconnected message for a $transport client: $(cat "$T/serve-file.out")"
done
read -r _ clients conns bytes packets headers < <(grep '^stats' "$T/serve-file.out")
[[ $clients -eq 0 && $conns -ge 3 && $bytes -gt 1000000 && $headers -eq 1 ]] ||
  fail "stats at EOS: clients=$clients connections=$conns bytes=$bytes headers=$headers"
want_packets=$("$SYS_PYTHON" -c '
import struct, sys
d = open(sys.argv[1], "rb").read()
h = struct.unpack("<Q", d[16:24])[0]
size = struct.unpack("<Q", d[h + 16:h + 24])[0]
fp = d.find(bytes.fromhex("a1dcab8c47a9cf118ee400c00c205365"))
packet_size = struct.unpack("<I", d[fp + 92:fp + 96])[0]
print((size - 50) // packet_size)' "$MEDIA/$F")
[[ $packets -eq $want_packets ]] || fail "stats: $packets packets fed, the file has $want_packets"
log "stats: $conns connections, $bytes bytes, $packets packets"

# --- 2. a live encoder ---
serve live "videotestsrc is-live=true num-buffers=120 ! video/x-raw,width=320,height=240,framerate=15/1 ! avenc_wmv2 ! asfmux streamable=true ! tee name=t t. ! queue ! filesink location=$T/ref-live.asf t. ! queue ! mmssink name=sink bind-address=127.0.0.1 port=0 path=cam"
sleep 1  # join the broadcast after its start
pids=()
gst_frames "mmst://127.0.0.1:$PORT/cam" "$T/got-live-mmst.frames" & pids+=($!)
framemd5_copy "mmsh://127.0.0.1:$PORT/cam" >"$T/got-live-mmsh.md5" 2>"$T/ff-live.log" & pids+=($!)
for p in "${pids[@]}"; do wait "$p" || fail "live: a client failed (see $T)"; done
served live
gst_frames "file://$T/ref-live.asf" "$T/want-live.frames" || fail "GStreamer cannot decode the reference"
framemd5_copy "$T/ref-live.asf" >"$T/want-live.md5"
frames_suffix "live: mmssrc MMS/TCP (decoded)" "$T/want-live.frames" "$T/got-live-mmst.frames"
frames_suffix "live: FFmpeg mmsh://" "$T/want-live.md5" "$T/got-live-mmsh.md5" --max-lead 0

# --- 3. a new header upstream: a stream change ---
F2=audio-wma2-10s.wma
"$SYS_PYTHON" - "$MEDIA/$F" "$MEDIA/$F2" "$T/two.asf" <<'EOF'
import struct, sys
out = b''
for path in sys.argv[1:3]:
    d = open(path, 'rb').read()
    h = struct.unpack('<Q', d[16:24])[0]
    size = struct.unpack('<Q', d[h + 16:h + 24])[0]
    out += d[:h + size]  # header and data, no index
open(sys.argv[3], 'wb').write(out)
EOF
gst_frames "file://$T/two.asf" "$T/want-two.frames" ||
  fail "change: GStreamer cannot decode the two files one after the other: $(tail -n 3 "$T/want-two.frames.log")"
serve change "filesrc location=$T/two.asf ! mmssink name=sink bind-address=127.0.0.1 port=0 path=two"
sleep 1
gst_frames "mmsh://127.0.0.1:$PORT/two" "$T/got-two.frames" &
two_pid=$!
_pids+=("$two_pid")
run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-launch-1.0 -q mmssrc location="mmsh://127.0.0.1:$PORT/two" ! \
  filesink location="$T/got-two.asf" >"$T/gst-two.log" 2>&1 ||
  fail "change: mmssrc did not reach EOS: $(tail -n 3 "$T/gst-two.log")"
wait "$two_pid" ||
  fail "change: uridecodebin on mmssrc did not reach EOS: $(tail -n 3 "$T/got-two.frames.log")"
served change
grep -q '^stats 0 [0-9]* [0-9]* [0-9]* 2$' "$T/serve-change.out" ||
  fail "change: the sink did not take two headers: $(grep '^stats' "$T/serve-change.out")"
# Decoded: the end of the first file's frames, then every frame of the second
# (audio only, so the audio frames go on and the video frames stop).
frames_suffix "change: mmssrc MMSH through uridecodebin (decoded)" "$T/want-two.frames" "$T/got-two.frames"
# What mmssrc pushed: the first header, the end of the first file's packets,
# the second header, then every packet of the second file, in order.
"$SYS_PYTHON" - "$T/got-two.asf" "$MEDIA/$F2" >"$T/change.out" <<'EOF' ||
import struct, sys
got = open(sys.argv[1], 'rb').read()
second = open(sys.argv[2], 'rb').read()
guid = bytes.fromhex('3026b2758e66cf11a6d900aa0062ce6c')
at = [i for i in range(len(got) - 15) if got[i:i + 16] == guid]
h = struct.unpack('<Q', second[16:24])[0]
size = struct.unpack('<Q', second[h + 16:h + 24])[0]
fp = second.find(bytes.fromhex('a1dcab8c47a9cf118ee400c00c205365'))
ps = struct.unpack('<I', second[fp + 92:fp + 96])[0]
packets = [second[h + 50 + i * ps:h + 50 + (i + 1) * ps] for i in range((size - 50) // ps)]
print(f'{len(at)} ASF headers arrived; the second file has {len(packets)} packets')
if len(at) < 2:
    sys.exit(1)
tail = got[at[1]:]
# Packets may arrive with their padding stripped: look for each one's first
# 64 bytes, in order.
found = 0
pos = 0
for p in packets:
    i = tail.find(p[:64], pos)
    if i < 0:
        break
    found += 1
    pos = i + 1
print(f'{found} of {len(packets)} packets of the second file arrived in order after its header')
sys.exit(0 if found == len(packets) else 1)
EOF
  fail "change: the second file did not arrive whole: $(cat "$T/change.out")"
while read -r line; do log "change: $line"; done <"$T/change.out"
# --- 4. access control: signed URLs and credentials ---
serve secure "filesrc location=$MEDIA/$F ! mmssink name=sink bind-address=127.0.0.1 port=0 path=sec url-key=s3cret user-id=ann user-pw=pw"
signed=$("$SERVER_BIN" --sign-url "mmsh://127.0.0.1:$PORT/sec" --url-key s3cret --valid-for 600) ||
  fail "mms-server --sign-url failed"
wrong=$("$SERVER_BIN" --sign-url "mmsh://127.0.0.1:$PORT/sec" --url-key other --valid-for 600)
sleep 1
pids=()
# Signed and with the credentials: plays to the end.
run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-launch-1.0 -q mmssrc location="$signed" user-id=ann user-pw=pw \
  ! filesink location="$T/got-sec.asf" >"$T/gst-sec.log" 2>&1 & pids+=($!)
# Unsigned, wrongly signed, or without the password: refused.
run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-launch-1.0 -q mmssrc location="mmsh://127.0.0.1:$PORT/sec" \
  user-id=ann user-pw=pw ! fakesink >"$T/gst-unsigned.log" 2>&1 & unsigned_pid=$!
run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-launch-1.0 -q mmssrc location="$wrong" user-id=ann user-pw=pw \
  ! fakesink >"$T/gst-wrong.log" 2>&1 & wrong_pid=$!
run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-launch-1.0 -q mmssrc location="$signed" ! fakesink \
  >"$T/gst-nopw.log" 2>&1 & nopw_pid=$!
for p in "${pids[@]}"; do wait "$p" || fail "secure: the signed client failed: $(tail -n 3 "$T/gst-sec.log")"; done
for name in unsigned wrong nopw; do
  pid_var=${name}_pid
  if wait "${!pid_var}"; then fail "secure: the $name client was let in"; fi
  grep -qiE "not.authori|forbidden|denied|403|401" "$T/gst-$name.log" ||
    fail "secure: the $name client's error is not an authorisation error: $(grep -A1 ERROR "$T/gst-$name.log" | head -n 2)"
  log "secure: $name refused: $(grep -m1 ERROR "$T/gst-$name.log")"
done
served secure
framemd5_copy "$T/got-sec.asf" >"$T/got-sec.md5" 2>"$T/ff-sec.log" || fail "secure: the recording does not read"
frames_suffix "secure: mmssrc signed, with credentials" "$T/want.md5" "$T/got-sec.md5" --max-lead 0
grep -qE "^disconnected 127\.0\.0\.1 /sec mmsh 403 " "$T/serve-secure.out" ||
  fail "secure: no 403 among the sink's messages: $(grep disconnected "$T/serve-secure.out")"
log "PASS"
