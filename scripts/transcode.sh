#!/usr/bin/env bash
# Transcode an MMS stream to WebM (VP8 + Vorbis) with the mmssrc element.
#
# usage: scripts/transcode.sh [URL] [OUTPUT]
#   URL     mms:// or mmsh:// URL.  Without one, a 10 s sample clip is
#           generated, served by the bundled mms-server on 127.0.0.1, and
#           transcoded from there.
#   OUTPUT  output file (default: out.webm)
#
# Steps: install dependencies (scripts/install-deps.sh), build the release
# configuration in build-release/, run
#   gst-launch-1.0 -e uritranscodebin source-uri=URL dest-uri=file://OUTPUT \
#       profile=video/webm:video/x-vp8:audio/x-vorbis
# (mmssrc handles the mms/mmsh URI schemes, so uritranscodebin picks it up;
# decodebin copes with audio-only and video-only streams), then print the
# output path and an ffprobe summary.  Exits non-zero on any failure.
#
# Environment:
#   MMS_TRANSCODE_SECONDS  stop after this many seconds (for live streams,
#                          which never end on their own); EOS is sent so the
#                          file is finalised
#   MMS_SKIP_DEPS=1        do not run scripts/install-deps.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
URL=${1:-}
OUTPUT=${2:-out.webm}
BUILD="$ROOT/build-release"
PROFILE='video/webm:video/x-vp8:audio/x-vorbis'

die() { echo "transcode.sh: $*" >&2; exit 1; }

"$ROOT/scripts/install-deps.sh"

# An existing build directory regenerates itself from ninja when needed.
if [[ ! -f "$BUILD/meson-private/coredata.dat" ]]; then
  meson setup "$BUILD" "$ROOT" --buildtype=release -Dtests=false >/dev/null || die "meson setup failed"
fi
ninja -C "$BUILD" >/dev/null || die "build failed (run: ninja -C $BUILD)"
[[ -f "$BUILD/gst/libgstmms.so" ]] || die "plugin not built: $BUILD/gst/libgstmms.so"

export GST_PLUGIN_PATH="$BUILD/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
OUT_ABS=$(python3 -c 'import pathlib, sys; print(pathlib.Path(sys.argv[1]).resolve())' "$OUTPUT")
DEST_URI=$(python3 -c 'import pathlib, sys; print(pathlib.Path(sys.argv[1]).as_uri())' "$OUT_ABS")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mms-transcode.XXXXXX")
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
  SERVER="$BUILD/tools/server/mms-server"
  [[ -x "$SERVER" ]] || SERVER="$BUILD/tools/mms-server"
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
  echo "transcode.sh: serving a generated sample clip on 127.0.0.1:$port"
  # mms:// lets the element choose the transport; should the walk fail, an
  # explicit mmsh:// URL is tried too.
  URLS=("mms://127.0.0.1:$port/sample.asf" "mmsh://127.0.0.1:$port/sample.asf")
else
  URLS=("$URL")
fi

transcode() {
  local url=$1
  local cmd=(gst-launch-1.0 -e uritranscodebin source-uri="$url" dest-uri="$DEST_URI" profile="$PROFILE")
  echo "transcode.sh: ${cmd[*]}"
  rm -f "$OUT_ABS"
  if [[ -n "${MMS_TRANSCODE_SECONDS:-}" ]]; then
    # SIGINT makes gst-launch-1.0 -e send EOS and finish the file.
    timeout -s INT -k 30 "$MMS_TRANSCODE_SECONDS" "${cmd[@]}" >"$WORK/gst.log" 2>&1
    local rc=$?
    [[ $rc -eq 0 || $rc -eq 124 ]] || return 1
  else
    "${cmd[@]}" >"$WORK/gst.log" 2>&1 || return 1
  fi
  [[ -s "$OUT_ABS" ]] || return 1
  grep -q '^ERROR' "$WORK/gst.log" && return 1
  return 0
}

ok=
for url in "${URLS[@]}"; do
  if transcode "$url"; then
    ok=1
    break
  fi
  echo "transcode.sh: failed with $url:" >&2
  grep -E 'ERROR|WARNING|debug' "$WORK/gst.log" | head -n 6 >&2 || true
done
[[ -n "$ok" ]] || die "transcoding failed"

echo "transcode.sh: wrote $OUT_ABS ($(stat -c %s "$OUT_ABS") bytes)"
ffprobe -v error -show_entries format=duration:stream=index,codec_type,codec_name,width,height,sample_rate,channels \
  -of compact=p=0 "$OUT_ABS" || die "ffprobe cannot read $OUT_ABS"
nstreams=$(ffprobe -v error -show_entries stream=index -of csv=p=0 "$OUT_ABS" | wc -l)
[[ $nstreams -ge 1 ]] || die "$OUT_ABS has no streams"
echo "$OUT_ABS"
