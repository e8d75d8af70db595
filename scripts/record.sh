#!/usr/bin/env bash
# Record an MMS stream with mms-record: the main job of gst-mms.
#
# usage: scripts/record.sh [URL] [OUTPUT] [mms-record options...]
#   URL     mms://, mmsh://, mmst:// or mmsu:// URL.  Without one (or with an
#           empty one), a 10 s sample clip is generated, served by the bundled
#           mms-server on 127.0.0.1, and recorded from there.
#   OUTPUT  output file (default: out.webm); the extension picks the format:
#           .asf/.wmv/.wma as received (finalised, seekable, indexed), .webm,
#           .mkv, .mp4, .m4a, .ogg, .opus transcoded (see docs/record.md)
#   further arguments go to mms-record (e.g. --duration 60, --resume)
#
# Steps: install dependencies (scripts/install-deps.sh), build the release
# configuration in build-release/, run build-release/tools/mms-record URL
# OUTPUT, then print an ffprobe summary and the output path.  Exits non-zero
# on any failure.
#
# Environment:
#   MMS_RECORD_SECONDS     stop after this many seconds of media (--duration;
#                          for live streams, which never end on their own).
#                          MMS_TRANSCODE_SECONDS is read too.
#   MMS_SKIP_DEPS=1        do not run scripts/install-deps.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
URL=${1:-}
OUTPUT=${2:-out.webm}
shift $(($# < 2 ? $# : 2))
EXTRA=("$@")
BUILD="$ROOT/build-release"
SECONDS_LIMIT=${MMS_RECORD_SECONDS:-${MMS_TRANSCODE_SECONDS:-}}

die() { echo "record.sh: $*" >&2; exit 1; }

"$ROOT/scripts/install-deps.sh"

# An existing build directory regenerates itself from ninja when needed.
if [[ ! -f "$BUILD/meson-private/coredata.dat" ]]; then
  meson setup "$BUILD" "$ROOT" --buildtype=release -Dtests=false >/dev/null || die "meson setup failed"
fi
ninja -C "$BUILD" >/dev/null || die "build failed (run: ninja -C $BUILD)"
[[ -f "$BUILD/gst/libgstmms.so" ]] || die "plugin not built: $BUILD/gst/libgstmms.so"
RECORD="$BUILD/tools/mms-record"
[[ -x "$RECORD" ]] || die "mms-record not built: $RECORD"

export GST_PLUGIN_PATH="$BUILD/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mms-record.XXXXXX")
SERVER_PID=
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [[ -z "$URL" ]]; then
  SERVER="$BUILD/tools/mms-server"
  [[ -x "$SERVER" ]] || die "mms-server not built"
  timeout 300 "$ROOT/tests/media/make-test-media.sh" "$WORK/media" sample ||
    die "could not generate the sample clip"
  mv "$WORK/media/av-wmv2-wma2-10s.asf" "$WORK/media/sample.asf"
  # One port for RTSP, MMS and MMSH (UDP on the same number): the mms:// URL
  # rolls over like Windows Media Player and starts with RTSP over UDP.
  "$SERVER" --root "$WORK/media" --bind 127.0.0.1 --port 0 --fast >"$WORK/server.out" 2>"$WORK/server.log" &
  SERVER_PID=$!
  port=
  for ((i = 0; i < 200; i++)); do
    port=$(sed -n 's/^mms-server listening mmsh=\([0-9][0-9]*\).*/\1/p' "$WORK/server.out" | head -n1)
    [[ -n "$port" ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; die "mms-server exited"; }
    sleep 0.1
  done
  [[ -n "$port" ]] || die "mms-server did not become ready"
  echo "record.sh: serving a generated sample clip on 127.0.0.1:$port"
  # mms:// lets the element choose the transport; should the walk fail, an
  # explicit mmsh:// URL is tried too.
  URLS=("mms://127.0.0.1:$port/sample.asf" "mmsh://127.0.0.1:$port/sample.asf")
else
  URLS=("$URL")
fi

opts=("${EXTRA[@]}")
[[ -n "$SECONDS_LIMIT" ]] && opts+=(--duration "$SECONDS_LIMIT")

ok=
for url in "${URLS[@]}"; do
  echo "record.sh: $RECORD ${opts[*]} $url $OUTPUT"
  if "$RECORD" "${opts[@]}" "$url" "$OUTPUT"; then
    ok=1
    break
  fi
  echo "record.sh: failed with $url" >&2
done
[[ -n "$ok" ]] || die "recording failed"

OUT_ABS=$(python3 -c 'import pathlib, sys; print(pathlib.Path(sys.argv[1]).resolve())' "$OUTPUT")
ffprobe -v error -show_entries format=duration:stream=index,codec_type,codec_name,width,height,sample_rate,channels \
  -of compact=p=0 "$OUT_ABS" || die "ffprobe cannot read $OUT_ABS"
nstreams=$(ffprobe -v error -show_entries stream=index -of csv=p=0 "$OUT_ABS" | wc -l)
[[ $nstreams -ge 1 ]] || die "$OUT_ABS has no streams"
echo "$OUT_ABS"
