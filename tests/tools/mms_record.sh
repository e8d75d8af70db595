#!/usr/bin/env bash
# mms-record against mms-server on 127.0.0.1:
#  - a full .asf recording decodes to the source file's frames, has a duration
#    (ffprobe) and is seekable (GStreamer);
#  - --duration on a live stream gives a valid file of about that length;
#  - SIGINT mid-download gives a valid, shorter file; --resume completes it to
#    the source's frames (also from the OUTPUT.part a SIGKILL leaves); SIGTERM
#    finishes a transcode;
#  - .webm, .mp4, audio-only .ogg and video-only .webm transcodes decode;
#    --duration cuts one; --connection-speed selects streams;
#  - under a pseudo-terminal the progress line shows a percent; without one a
#    single summary line is printed;
#  - a server-side playlist: .asf with a spliced entry, or up to the end of
#    its first entry before one with other streams; a transcode with every
#    entry;
#  - a bad URL fails with a one-line message and leaves no file.
source "$(dirname "${BASH_SOURCE[0]}")/../interop/lib.sh"
need ffmpeg ffprobe gst-launch-1.0 gst-discoverer-1.0 script python3
RECORD="$BUILD/tools/mms-record"
[[ -x "$RECORD" ]] || fail "mms-record not built: $RECORD"
ensure_media
gst_env
# mms-record runs like the GStreamer tools ("${GST_RUN[@]}": with a sanitized
# build the runtimes are preloaded, so that gst-plugin-scanner can load the
# plugin too), but it is ours: leak detection stays on for it (suppressions in
# tests/lsan.supp).
REC=("${GST_RUN[@]}" ASAN_OPTIONS="detect_leaks=1:${ASAN_OPTIONS:-}" "$RECORD")

SRC=av-wmv2-wma2-10s.asf
AUDIO=audio-wma2-10s.wma

start_server --fast --mms-port 0
FAST=$SERVER_PORT
FAST_MMS=$(sed -n 's/^mms-server listening .*mms=\([0-9][0-9]*\).*/\1/p' "$T/server.out" | head -n1)
[[ -n "$FAST_MMS" ]] || fail "no MMS port in the server's ready line"
start_server
PACED=$SERVER_PORT
start_server --live radio=av-wmv2-wma2-60s.asf
LIVE=$SERVER_PORT

# rec NAME ARGS...: run mms-record (stdin closed, stderr to $T/NAME.log); sets RC.
rec() {
  local name=$1; shift
  RC=0
  run 120 "${REC[@]}" "$@" </dev/null >"$T/$name.out" 2>"$T/$name.log" || RC=$?
}

duration_of() {
  ffprobe -v error -show_entries format=duration -of csv=p=0 "$1"
}
# in_range VALUE LOW HIGH
in_range() { python3 -c 'import sys; v, lo, hi = map(float, sys.argv[1:]); sys.exit(0 if lo <= v <= hi else 1)' "$@"; }

framemd5_decoded "$MEDIA/$SRC" >"$T/want.md5"

# --- full recording ---------------------------------------------------------------
rec full "mmsh://127.0.0.1:$FAST/$SRC" "$T/full.asf"
[[ $RC -eq 0 ]] || fail "full recording: exit status $RC"
[[ -s "$T/full.asf" && ! -e "$T/full.asf.part" ]] || fail "full recording: no file, or the .part is left"
grep -q '^mms-record: wrote ' "$T/full.log" || fail "full recording: no summary line"
[[ $(wc -l <"$T/full.log") -eq 1 ]] || fail "full recording: more than one line on a non-terminal stderr"
grep -q $'\r' "$T/full.log" && fail "full recording: progress line printed to a non-terminal"
framemd5_decoded "$T/full.asf" >"$T/full.md5" 2>"$T/ffmpeg.log" || fail "ffmpeg cannot decode the recording"
compare_lines "full .asf recording vs source" "$T/want.md5" "$T/full.md5"
d=$(duration_of "$T/full.asf")
in_range "$d" 9.5 10.6 || fail "full recording: ffprobe duration $d, want about 10 s"
log "full recording: ffprobe duration $d s"
run 60 "${GST_RUN[@]}" gst-discoverer-1.0 "$T/full.asf" >"$T/discoverer.log" 2>&1 ||
  fail "gst-discoverer-1.0 cannot read the recording"
grep -q 'Seekable: yes' "$T/discoverer.log" || fail "gst-discoverer-1.0 does not find the recording seekable"
# A flushing key-unit seek to 6 s: the first buffer after it is near 6 s.
run 60 "${GST_RUN[@]}" "$SYS_PYTHON" - "$T/full.asf" >"$T/seek.log" 2>&1 <<'PY' || fail "seek in the recording failed: $(tail -n 3 "$T/seek.log")"
import sys
import gi
gi.require_version('Gst', '1.0')
from gi.repository import Gst
Gst.init(None)
p = Gst.parse_launch('filesrc location="%s" ! asfdemux name=d d.video_0 ! fakesink name=s sync=false' % sys.argv[1])
seen = []
def probe(_pad, info):
    seen.append(info.get_buffer().pts)
    return Gst.PadProbeReturn.OK
p.get_by_name('s').get_static_pad('sink').add_probe(Gst.PadProbeType.BUFFER, probe)
p.set_state(Gst.State.PAUSED)
assert p.get_state(10 * Gst.SECOND)[0] == Gst.StateChangeReturn.SUCCESS, 'no preroll'
seen.clear()
assert p.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT, 6 * Gst.SECOND), 'seek refused'
assert p.get_state(10 * Gst.SECOND)[0] == Gst.StateChangeReturn.SUCCESS, 'no preroll after the seek'
assert seen, 'no buffer after the seek'
t = seen[0] / Gst.SECOND
print('first video buffer after the seek to 6 s: %.3f s' % t)
assert 4.9 <= t <= 6.1, 'seek landed at %.3f s' % t
p.set_state(Gst.State.NULL)
PY
log "$(cat "$T/seek.log")"

# --- options reach mmssrc: MMS/TCP only, retries ---------------------------------
rec mmst --protocols mmst --retries 1 --quiet "mms://127.0.0.1:$FAST_MMS/$AUDIO" "$T/mmst.wma"
[[ $RC -eq 0 ]] || fail "mms:// --protocols mmst: exit status $RC: $(cat "$T/mmst.log")"
[[ ! -s "$T/mmst.log" ]] || fail "--quiet printed: $(cat "$T/mmst.log")"
framemd5_decoded "$MEDIA/$AUDIO" >"$T/want-audio.md5"
framemd5_decoded "$T/mmst.wma" >"$T/mmst.md5"
compare_lines "audio-only .wma over MMS/TCP vs source" "$T/want-audio.md5" "$T/mmst.md5"

# --- --duration on a live stream ------------------------------------------------------
rec live --duration 3 "mmsh://127.0.0.1:$LIVE/radio" "$T/live.asf"
[[ $RC -eq 0 ]] || fail "live --duration 3: exit status $RC: $(cat "$T/live.log")"
d=$(duration_of "$T/live.asf")
in_range "$d" 2.5 4.0 || fail "live --duration 3: ffprobe duration $d"
run 60 "${FF[@]}" -i "$T/live.asf" -f null - 2>"$T/live-decode.log" || fail "live recording does not decode"
log "live --duration 3: ffprobe duration $d s, decodes"

# --- SIGINT mid-download, then --resume --------------------------------------------
src_size=$(stat -c %s "$MEDIA/$SRC")
# wait_part FILE: until FILE holds a third of the source (bounded).
wait_part() {
  local i
  for ((i = 0; i < 300; i++)); do
    [[ -f "$1" && $(stat -c %s "$1") -ge $((src_size / 3)) ]] && return 0
    sleep 0.1
  done
  fail "no partial recording grew in $1"
}
"${REC[@]}" "mmsh://127.0.0.1:$PACED/$SRC" "$T/int.asf" </dev/null >/dev/null 2>"$T/int.log" &
rec_pid=$!
_pids+=("$rec_pid")
wait_part "$T/int.asf.part"
kill -INT "$rec_pid"
RC=0
wait "$rec_pid" || RC=$?
[[ $RC -eq 0 ]] || fail "SIGINT: exit status $RC: $(cat "$T/int.log")"
[[ -s "$T/int.asf" && ! -e "$T/int.asf.part" ]] || fail "SIGINT: no finished file"
grep -q 'interrupted' "$T/int.log" || fail "SIGINT: the summary does not say interrupted"
d=$(duration_of "$T/int.asf")
in_range "$d" 1 9.5 || fail "SIGINT: ffprobe duration $d (want a partial recording)"
framemd5_decoded "$T/int.asf" >"$T/int.md5" || fail "the interrupted recording does not decode"
log "SIGINT: valid file of $d s"
rec resume --resume "mmsh://127.0.0.1:$FAST/$SRC" "$T/int.asf"
[[ $RC -eq 0 ]] || fail "--resume: exit status $RC: $(cat "$T/resume.log")"
grep -q 'resuming' "$T/resume.log" || fail "--resume did not resume: $(cat "$T/resume.log")"
framemd5_decoded "$T/int.asf" >"$T/resumed.md5"
compare_lines "interrupted + resumed vs source" "$T/want.md5" "$T/resumed.md5"

# A killed recording leaves OUTPUT.part: --resume continues it.
"${REC[@]}" "mmsh://127.0.0.1:$PACED/$SRC" "$T/kill.asf" </dev/null >/dev/null 2>"$T/kill.log" &
rec_pid=$!
_pids+=("$rec_pid")
wait_part "$T/kill.asf.part"
kill -KILL "$rec_pid"
wait "$rec_pid" 2>/dev/null || true
[[ -s "$T/kill.asf.part" && ! -e "$T/kill.asf" ]] || fail "SIGKILL: expected only kill.asf.part"
rec resume-part --resume --quiet "mmsh://127.0.0.1:$FAST/$SRC" "$T/kill.asf"
[[ $RC -eq 0 ]] || fail "--resume from .part: exit status $RC: $(cat "$T/resume-part.log")"
[[ ! -e "$T/kill.asf.part" ]] || fail "--resume from .part: the .part is left"
framemd5_decoded "$T/kill.asf" >"$T/kill.md5"
compare_lines "killed + resumed from .part vs source" "$T/want.md5" "$T/kill.md5"

# SIGTERM ends a transcode cleanly too (EOS through the encoders).
"${REC[@]}" "mmsh://127.0.0.1:$PACED/$SRC" "$T/term.webm" </dev/null >/dev/null 2>"$T/term.log" &
rec_pid=$!
_pids+=("$rec_pid")
for ((i = 0; i < 300; i++)); do
  [[ -f "$T/term.webm.part" && $(stat -c %s "$T/term.webm.part") -ge 30000 ]] && break
  sleep 0.1
done
[[ -f "$T/term.webm.part" ]] || fail "SIGTERM: the transcode wrote nothing"
kill -TERM "$rec_pid"
RC=0
wait "$rec_pid" || RC=$?
[[ $RC -eq 0 ]] || fail "SIGTERM: exit status $RC: $(cat "$T/term.log")"
[[ -s "$T/term.webm" && ! -e "$T/term.webm.part" ]] || fail "SIGTERM: no finished .webm"
run 60 "${FF[@]}" -i "$T/term.webm" -f null - || fail "SIGTERM: the .webm does not decode"
d=$(duration_of "$T/term.webm")
in_range "$d" 0.5 9.5 || fail "SIGTERM: .webm duration $d (want a partial recording)"
log "SIGTERM: .webm of $d s, decodes"

# --resume of a live stream is refused, the partial kept.
cp "$T/live.asf" "$T/live2.asf"
rec resume-live --resume "mmsh://127.0.0.1:$LIVE/radio" "$T/live2.asf"
[[ $RC -ne 0 ]] || fail "--resume of a live stream succeeded"
grep -q 'live' "$T/resume-live.log" || fail "--resume of a live stream: unclear message: $(cat "$T/resume-live.log")"
[[ -s "$T/live2.asf.part" ]] || fail "--resume of a live stream: the partial recording was not kept"
log "--resume of a live stream refused: $(grep -m1 "cannot resume" "$T/resume-live.log")"

# --- transcodes -------------------------------------------------------------------------
# check_codecs FILE WANT: ffprobe's codec names, comma-separated, in stream order.
check_codecs() {
  local got
  got=$(ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$1" | paste -sd, -)
  [[ "$got" == "$2" ]] || fail "$(basename "$1"): codecs $got, want $2"
  run 120 "${FF[@]}" -i "$1" -f null - 2>"$T/decode.log" || fail "$(basename "$1") does not decode"
  local d
  d=$(duration_of "$1")
  in_range "$d" 9 10.8 || fail "$(basename "$1"): duration $d"
  log "$(basename "$1"): $got, $d s, decodes"
}
rec webm "mmsh://127.0.0.1:$FAST/$SRC" "$T/out.webm"
[[ $RC -eq 0 ]] || fail ".webm: exit status $RC: $(cat "$T/webm.log")"
check_codecs "$T/out.webm" "vp8,vorbis"
rec mp4 "mmsh://127.0.0.1:$FAST/$SRC" "$T/out.mp4"
[[ $RC -eq 0 ]] || fail ".mp4: exit status $RC: $(cat "$T/mp4.log")"
check_codecs "$T/out.mp4" "h264,aac"
# --duration cuts a transcode of on-demand content too (no padding up to the
# header's duration).
rec webm4 --duration 4 "mmsh://127.0.0.1:$FAST/$SRC" "$T/four.webm"
[[ $RC -eq 0 ]] || fail ".webm --duration 4: exit status $RC: $(cat "$T/webm4.log")"
d=$(duration_of "$T/four.webm")
in_range "$d" 3.5 4.5 || fail ".webm --duration 4: duration $d"
log "four.webm (--duration 4): $d s"
rec ogg "mmsh://127.0.0.1:$FAST/$AUDIO" "$T/audio.ogg"
[[ $RC -eq 0 ]] || fail "audio-only .ogg: exit status $RC: $(cat "$T/ogg.log")"
check_codecs "$T/audio.ogg" "opus"

# Video only (generated here) and multi-bitrate stream selection.
mkdir -p "$T/vmedia"
run 120 "${FF[@]}" -f lavfi -i testsrc=size=160x120:rate=25 -t 4 -c:v wmv2 -g 25 -f asf \
  "$T/vmedia/video-only.asf" || fail "cannot generate a video-only file"
start_server --fast --root "$T/vmedia"
VONLY=$SERVER_PORT
rec vwebm "mmsh://127.0.0.1:$VONLY/video-only.asf" "$T/video.webm"
[[ $RC -eq 0 ]] || fail "video-only .webm: exit status $RC: $(cat "$T/vwebm.log")"
got=$(ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$T/video.webm" | paste -sd, -)
[[ "$got" == vp8 ]] || fail "video-only .webm: codecs $got"
run 60 "${FF[@]}" -i "$T/video.webm" -f null - || fail "video-only .webm does not decode"
rec vasf "mmsh://127.0.0.1:$VONLY/video-only.asf" "$T/video.asf"
[[ $RC -eq 0 ]] || fail "video-only .asf: exit status $RC"
framemd5_decoded "$T/vmedia/video-only.asf" >"$T/want-v.md5"
framemd5_decoded "$T/video.asf" >"$T/got-v.md5"
compare_lines "video-only .asf vs source" "$T/want-v.md5" "$T/got-v.md5"
# At 200 kbit/s of streams 1 (300k video), 2 (100k video) and 3 (64k audio),
# only 2 and 3 are recorded.
rec mbr --connection-speed 200k "mmsh://127.0.0.1:$FAST/mbr-sbp-mutex-10s.asf" "$T/mbr.asf"
[[ $RC -eq 0 ]] || fail "--connection-speed: exit status $RC: $(cat "$T/mbr.log")"
counts=$(ffprobe -v error -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$T/mbr.asf" | paste -sd, -)
[[ "$counts" =~ ^(0|N/A),[1-9][0-9]*,[1-9][0-9]*$ ]] || fail "--connection-speed 200k: packets per stream $counts (want none in stream 1)"
log "--connection-speed 200k: packets per stream $counts"

# A server-side playlist. The element splices an entry with the streams in
# force into one stream (A/V then audio-only: the audio continues), so an .asf
# recording holds both entries; an entry with other streams (audio-only then
# A/V) comes with its own header, and an .asf recording ends before it. A
# transcode holds every entry either way, on one timeline (A/V then
# audio-only: the video track ends with the first entry).
start_server --fast --mms-port 0 --playlist "pl=$SRC,$AUDIO" --playlist "pl2=$SRC,$SRC" \
  --playlist "pl3=$AUDIO,$SRC"
PL_HTTP=$SERVER_PORT
PL_MMS=$(sed -n 's/^mms-server listening .*mms=\([0-9][0-9]*\).*/\1/p' "$T/server.out" | head -n1)
# video_frames FILE: decoded video frames, by ffprobe.
video_frames() {
  ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$1"
}
src_frames=$(video_frames "$MEDIA/$SRC")
[[ "$src_frames" =~ ^[1-9][0-9]*$ ]] || fail "cannot count the source's video frames: $src_frames"
rec playlist "mmst://127.0.0.1:$PL_MMS/pl" "$T/pl.asf"
[[ $RC -eq 0 ]] || fail "playlist: exit status $RC: $(cat "$T/playlist.log")"
grep -q 'first entry' "$T/playlist.log" && fail "playlist: the spliced entry ended the recording"
d=$(duration_of "$T/pl.asf")
in_range "$d" 19.3 20.8 || fail "spliced playlist .asf: duration $d, want the two entries' 20 s"
v=$(video_frames "$T/pl.asf")
[[ "$v" == "$src_frames" ]] || fail "spliced playlist .asf: $v video frames, want $src_frames"
run 120 "${FF[@]}" -i "$T/pl.asf" -f null - || fail "spliced playlist .asf does not decode"
log "spliced playlist .asf: $d s, $v video frames"
framemd5_decoded "$MEDIA/$AUDIO" >"$T/want-audio.md5"
rec playlist3 "mmst://127.0.0.1:$PL_MMS/pl3" "$T/pl3.asf"
[[ $RC -eq 0 ]] || fail "chained playlist: exit status $RC: $(cat "$T/playlist3.log")"
grep -q 'first entry' "$T/playlist3.log" || fail "chained playlist: no message about the stream change"
framemd5_decoded "$T/pl3.asf" >"$T/pl3.md5"
compare_lines "chained playlist recording vs its first entry" "$T/want-audio.md5" "$T/pl3.md5"
# check_playlist NAME FILE WANT_CODECS WANT_VIDEO_FRAMES
check_playlist() {
  [[ $RC -eq 0 ]] || fail "$1: exit status $RC: $(cat "$T/$1.log")"
  local got d v
  got=$(ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$2" | paste -sd, -)
  [[ "$got" == "$3" ]] || fail "$1: codecs $got, want $3"
  run 120 "${FF[@]}" -i "$2" -f null - 2>"$T/decode.log" || fail "$1: $(basename "$2") does not decode"
  d=$(duration_of "$2")
  in_range "$d" 19.3 20.8 || fail "$1: duration $d, want the two entries' 20 s"
  v=$(video_frames "$2")
  [[ "$v" == "$4" ]] || fail "$1: $v video frames, want $4"
  log "$1: $got, $d s, $v video frames"
}
rec pl-webm "mmsh://127.0.0.1:$PL_HTTP/pl" "$T/pl.webm"
check_playlist pl-webm "$T/pl.webm" "vp8,vorbis" "$src_frames"
rec pl2-mkv "mmst://127.0.0.1:$PL_MMS/pl2" "$T/pl2.mkv"
check_playlist pl2-mkv "$T/pl2.mkv" "vp8,vorbis" $((2 * src_frames))
# Audio-only then A/V (chained): the transcode goes on through the new pads.
rec pl3-webm "mmsh://127.0.0.1:$PL_HTTP/pl3" "$T/pl3.webm"
[[ $RC -eq 0 ]] || fail "pl3-webm: exit status $RC: $(cat "$T/pl3-webm.log")"
d=$(duration_of "$T/pl3.webm")
in_range "$d" 19.3 20.8 || fail "pl3-webm: duration $d, want the two entries' 20 s"
log "pl3-webm: $d s"
# Audio-only output of A/V then audio: the first entry's video goes nowhere,
# and the recording still ends.
rec pl-m4a "mmsh://127.0.0.1:$PL_HTTP/pl" "$T/pl.m4a"
[[ $RC -eq 0 ]] || fail "pl-m4a: exit status $RC: $(cat "$T/pl-m4a.log")"
d=$(duration_of "$T/pl.m4a")
in_range "$d" 19.3 20.8 || fail "pl-m4a: duration $d, want the two entries' 20 s"
log "pl-m4a: $d s"

# --- progress on a terminal -----------------------------------------------------------
tty_cmd=$(printf '%q ' "${REC[@]}" --duration 3 "mmsh://127.0.0.1:$PACED/$SRC" "$T/tty.asf")
run 60 script -qec "$tty_cmd" /dev/null \
  </dev/null >"$T/tty.log" 2>&1 || fail "under a pseudo-terminal: failed: $(tail -c 300 "$T/tty.log")"
grep -q $'\r' "$T/tty.log" || fail "no \\r-updated progress line on a terminal"
grep -Eq '[0-9]+\.[0-9]%' "$T/tty.log" || fail "no percent in the progress line: $(tail -c 300 "$T/tty.log")"
grep -q 'ETA' "$T/tty.log" || fail "no ETA in the progress line"
log "progress on a terminal: $(tr '\r' '\n' <"$T/tty.log" | sed 's/\x1b\[K//g' | grep '%' | tail -n1)"

# --- errors ---------------------------------------------------------------------------------
rec bad "mmsh://127.0.0.1:1/$SRC" "$T/bad.asf" --timeout 5
[[ $RC -ne 0 ]] || fail "unreachable server: exit status 0"
[[ $(wc -l <"$T/bad.log") -eq 1 ]] || fail "unreachable server: want one line, got: $(cat "$T/bad.log")"
grep -q '^mms-record: ' "$T/bad.log" || fail "unreachable server: no message"
[[ ! -e "$T/bad.asf" && ! -e "$T/bad.asf.part" ]] || fail "unreachable server: a file is left"
log "unreachable server: $(cat "$T/bad.log")"
rec missing "mmsh://127.0.0.1:$FAST/missing.asf" "$T/missing.webm"
[[ $RC -ne 0 ]] || fail "missing file: exit status 0"
grep -qi 'not found\|not-found' "$T/missing.log" || fail "missing file: unclear message: $(cat "$T/missing.log")"
[[ ! -e "$T/missing.webm" && ! -e "$T/missing.webm.part" ]] || fail "missing file: a file is left"
log "missing file: $(cat "$T/missing.log")"
rec usage "http://127.0.0.1/x" "$T/x.txt"
[[ $RC -eq 2 ]] || fail "bad OUTPUT extension: exit status $RC, want 2"
log "PASS"
