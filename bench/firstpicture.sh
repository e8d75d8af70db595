#!/usr/bin/env bash
# First picture in a playbin player from a real-time (paced) mms-server, per
# transport, with and without Fast Start, for a file as FFmpeg's ASF muxer
# writes it (no Stream Bitrate Properties) and the same file with a Stream
# Bitrate Properties object where Windows Media Encoder puts it (asfdemux then
# tags every stream's bitrate, so uridecodebin sizes its buffer in bytes).
# bench/firstpicture.py is the player: playbin, synchronised fakesinks, and
# gst-play's buffering policy. The last two columns are broadcasts of the file
# with bitrates: looped by the server (--live NAME=FILE) and a publishing point
# fed on standard input (--live NAME=-); both join up to 5 s behind live at a
# key frame (broadcast Fast Start) and get that backlog at once (over MMS/UDP
# at the Fast Start factor). Not part of the tests.
#
# usage: bench/firstpicture.sh BUILD_DIR MEDIA_DIR [RUNS]
#   MEDIA_DIR holds av-wmv2-wma2-60s.asf (tests/media/make-test-media.sh).
# Prints a Markdown table (median of RUNS runs, default 3).
set -euo pipefail

BUILD=$1 MEDIA=$2 RUNS=${3:-3}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVER="$BUILD/tools/server/mms-server"
[[ -x "$SERVER" ]] || SERVER="$BUILD/tools/mms-server"
PY=/usr/bin/python3
[[ -x "$PY" ]] || PY=python3
W=$(mktemp -d "${TMPDIR:-/tmp}/mms-firstpicture.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
export GST_PLUGIN_PATH="$BUILD/gst"

mkdir -p "$W/media"
cp "$MEDIA/av-wmv2-wma2-60s.asf" "$W/media/plain.asf"
# make-test-media.sh encodes stream 1 (WMV2) at 300 kbit/s, stream 2 (WMA2) at 64 kbit/s.
"$PY" "$ROOT/tests/tools/asfedit.py" bitrates "$W/media/plain.asf" "$W/media/bitrates.asf" \
  1:300000,2:64000

start() {  # start NAME [options]: a paced server on one port for every protocol, port in $PORT
  local name=$1; shift
  "$SERVER" --root "$W/media" --bind 127.0.0.1 --port 0 "$@" >"$W/$name.out" 2>/dev/null &
  pids+=($!)
  wait_port "$name"
}
wait_port() {  # wait_port NAME: $PORT from the server's "listening" line
  for ((i = 0; i < 200; i++)); do
    grep -q listening "$W/$1.out" && break
    sleep 0.05
  done
  PORT=$(sed -n 's/.* mmsh=\([0-9]*\).*/\1/p' "$W/$1.out")
}
start fast; FAST=$PORT
start slow --fast-start-factor 1; SLOW=$PORT
# Broadcasts: the file looped on the server's clock (a server per transport,
# joined 6 s into its first loop: a join never reaches back into the previous
# loop, so one in a loop's first 5 s gets less than the 5 s of broadcast Fast
# Start), and a publishing point fed on standard input (the file five times:
# five minutes), joined at a key frame.
start_fed() {
  cat "$W/media/bitrates.asf" "$W/media/bitrates.asf" "$W/media/bitrates.asf" "$W/media/bitrates.asf" "$W/media/bitrates.asf" |
    "$SERVER" --bind 127.0.0.1 --port 0 --live pp=- >"$W/fed.out" 2>/dev/null &
  pids+=($!)
  wait_port fed
}
start_fed; FED=$PORT

median() { sort -n | awk '{a[NR] = $1} END {if (NR == 0) print "-"; else print a[int((NR + 1) / 2)]}'; }
one() {  # one PORT FILE PROTOCOL -> median first picture ms
  "$PY" "$ROOT/bench/firstpicture.py" "mms://127.0.0.1:$1/$2" "$RUNS" "$3" 2>/dev/null |
    sed -n 's/^first_picture_ms=\([0-9]*\).*/\1/p' | median
}

echo "| transport | FFmpeg file, Fast Start | FFmpeg file, no Fast Start | with bitrates, Fast Start | with bitrates, no Fast Start | broadcast (--live FILE) | publishing point (--live NAME=-) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for proto in mmsh mmst mmsu rtspt rtspu; do
  start "loop-$proto" --live live=bitrates.asf; LOOP=$PORT
  echo "| $proto | $(one "$FAST" plain.asf "$proto") | $(one "$SLOW" plain.asf "$proto") |" \
    "$(one "$FAST" bitrates.asf "$proto") | $(one "$SLOW" bitrates.asf "$proto") |" \
    "$(sleep 6 && one "$LOOP" live "$proto") | $(one "$FED" pp "$proto") |"
done
