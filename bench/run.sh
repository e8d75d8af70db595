#!/usr/bin/env bash
# Throughput benchmark: how fast do MMSH clients pull a ~100 MB ASF file
# from mms-server --fast over loopback, compared with a plain TCP read of
# the same bytes?  Not part of the test suite.
#
# usage: bench/run.sh [RUNS]     (default 3 runs per client; the median is reported)
#
# Clients: raw TCP (bench/rawtcp.c, 256 KiB reads), libmms
# (tests/interop/mmsclient.c), FFmpeg (-c copy -f null), gst-launch-1.0
# mmssrc ! fakesink, and VLC when installed (as user mmstest when root).
# For each: wall-clock MB/s, client CPU seconds (user + system, from
# /usr/bin/time) per 100 MB, and throughput relative to raw TCP.  Also the
# time from PLAYING to the first buffer out of mmssrc (bench/firstbuf.c).
# The table is printed and written to docs/benchmarks.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${1:-3}
BUILD="$ROOT/build-release"
OUT_MD="$ROOT/docs/benchmarks.md"
W=$(mktemp -d "${TMPDIR:-/tmp}/mms-bench.XXXXXX")
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT
NOTES_MARKER='<!-- Below: written analyses, kept by bench/run.sh -->'
if [[ -f "$OUT_MD" ]] && grep -qF "$NOTES_MARKER" "$OUT_MD"; then
  tail -n +"$(grep -nF "$NOTES_MARKER" "$OUT_MD" | head -n1 | cut -d: -f1)" "$OUT_MD" >"$W/notes.md"
fi
die() { echo "bench: $*" >&2; exit 1; }

"$ROOT/scripts/install-deps.sh"
# An existing build directory regenerates itself from ninja when needed.
if [[ ! -f "$BUILD/meson-private/coredata.dat" ]]; then
  meson setup "$BUILD" "$ROOT" --buildtype=release -Dtests=false >/dev/null || die "meson setup failed"
fi
ninja -C "$BUILD" >/dev/null || die "build failed"
SERVER="$BUILD/tools/server/mms-server"
[[ -x "$SERVER" ]] || SERVER="$BUILD/tools/mms-server"
[[ -x "$SERVER" ]] || die "mms-server not built"
export GST_PLUGIN_PATH="$BUILD/gst"

cc -O2 -Wall -o "$W/rawtcp" "$ROOT/bench/rawtcp.c"
cc -O2 -Wall -o "$W/mmsclient" "$ROOT/tests/interop/mmsclient.c" $(pkg-config --cflags --libs libmms)
cc -O2 -Wall -o "$W/firstbuf" "$ROOT/bench/firstbuf.c" $(pkg-config --cflags --libs gstreamer-1.0)

MEDIA="$BUILD/bench-media"
timeout 900 "$ROOT/tests/media/make-test-media.sh" "$MEDIA" big
timeout 900 "$ROOT/tests/media/make-test-media.sh" "$BUILD/bench-small" default >/dev/null
FILE=big-640x480-20s.asf
SIZE=$(stat -c %s "$MEDIA/$FILE")
echo "bench: $FILE, $SIZE bytes"

"$SERVER" --root "$MEDIA" --bind 127.0.0.1 --mmsh-port 0 --mms-port 0 --rtsp-port 0 --fast >"$W/server.out" 2>"$W/server.log" &
pids+=($!)
PORT=
for ((i = 0; i < 200; i++)); do
  PORT=$(sed -n 's/^mms-server listening mmsh=\([0-9][0-9]*\).*/\1/p' "$W/server.out" | head -n1)
  [[ -n "$PORT" ]] && break
  sleep 0.1
done
[[ -n "$PORT" ]] || die "mms-server did not become ready"
URL="mmsh://127.0.0.1:$PORT/$FILE"
MMS_PORT=$(sed -n 's/^mms-server listening .* mms=\([0-9][0-9]*\).*/\1/p' "$W/server.out" | head -n1)
[[ -n "$MMS_PORT" ]] || die "mms-server did not report its MMS port"
URL_MMST="mmst://127.0.0.1:$MMS_PORT/$FILE"
URL_MMSU="mmsu://127.0.0.1:$MMS_PORT/$FILE"
RTSP_PORT=$(sed -n 's/^mms-server listening .* rtsp=\([0-9][0-9]*\).*/\1/p' "$W/server.out" | head -n1)
[[ -n "$RTSP_PORT" ]] || die "mms-server did not report its RTSP port"
URL_RTSPT="rtspt://127.0.0.1:$RTSP_PORT/$FILE"
URL_RTSPU="rtspu://127.0.0.1:$RTSP_PORT/$FILE"
URL_RTSP="rtsp://127.0.0.1:$RTSP_PORT/$FILE"

VLC_USER=${MMS_TEST_USER:-mmstest}
as_vlc=()
have_vlc=
vlc_note=
if command -v cvlc >/dev/null 2>&1; then
  if [[ $(id -u) -ne 0 ]]; then have_vlc=1
  elif id "$VLC_USER" >/dev/null 2>&1; then have_vlc=1; as_vlc=(runuser -u "$VLC_USER" --); fi
fi

# timed NAME CMD...: run CMD under /usr/bin/time; append "wall user sys" to $W/NAME.times.
timed() {
  local name=$1; shift
  /usr/bin/time -f '%e %U %S' -o "$W/time.tmp" timeout 600 "$@" >"$W/$name.out" 2>"$W/$name.err" ||
    { echo "bench: $name failed:" >&2; tail -n 5 "$W/$name.err" >&2; return 1; }
  cat "$W/time.tmp" >>"$W/$name.times"
}

run_raw() {
  "$W/rawtcp" serve "$MEDIA/$FILE" >"$W/raw.port" &
  local sp=$! port= i
  for ((i = 0; i < 100; i++)); do
    port=$(sed -n 's/^port //p' "$W/raw.port"); [[ -n "$port" ]] && break; sleep 0.05
  done
  timed raw "$W/rawtcp" read "$port"
  wait "$sp"
}

declare -A CMDLINE=(
  [raw]="rawtcp read PORT (server: sendfile of the same file)"
  [libmms]="mmsclient $URL /dev/null"
  [ffmpeg]="ffmpeg -i $URL -map 0 -c copy -f null -"
  [mmssrc]="gst-launch-1.0 -q mmssrc location=$URL ! fakesink"
  [vlc]="cvlc -q $URL --sout '#std{access=file,mux=asf,dst=OUT.asf}' vlc://quit"
  [libmms_mmst]="mmsclient $URL_MMST /dev/null"
  [ffmpeg_mmst]="ffmpeg -i $URL_MMST -map 0 -c copy -f null -"
  [mmssrc_mmst]="gst-launch-1.0 -q mmssrc location=$URL_MMST ! fakesink"
  [mmssrc_mmsu]="gst-launch-1.0 -q mmssrc location=$URL_MMSU ! fakesink"
  [mmssrc_rtspt]="gst-launch-1.0 -q mmssrc location=$URL_RTSPT ! fakesink"
  [mmssrc_rtspu]="gst-launch-1.0 -q mmssrc location=$URL_RTSPU ! fakesink"
  [ffmpeg_rtspt]="ffmpeg -rtsp_transport tcp -i $URL_RTSP -map 0 -c copy -f null -"
)
# FFmpeg's RTSP row is over TCP only: its UDP reader drops an unpaced burst
# as late packets. It ends by itself on the server's RTCP BYEs.
mms_clients=(libmms_mmst ffmpeg_mmst mmssrc_mmst mmssrc_mmsu ffmpeg_rtspt mmssrc_rtspt mmssrc_rtspu)
clients=(raw libmms ffmpeg mmssrc)
[[ -n "$have_vlc" ]] && clients+=(vlc)

for ((r = 1; r <= RUNS; r++)); do
  echo "bench: run $r of $RUNS"
  run_raw
  timed libmms "$W/mmsclient" "$URL" /dev/null
  timed ffmpeg ffmpeg -nostdin -hide_banner -loglevel error -i "$URL" -map 0 -c copy -f null -
  timed mmssrc gst-launch-1.0 -q mmssrc location="$URL" ! fakesink
  timed libmms_mmst "$W/mmsclient" "$URL_MMST" /dev/null || true
  timed ffmpeg_mmst ffmpeg -nostdin -hide_banner -loglevel error -i "$URL_MMST" -map 0 -c copy -f null - || true
  timed mmssrc_mmst gst-launch-1.0 -q mmssrc location="$URL_MMST" ! fakesink || true
  timed mmssrc_mmsu gst-launch-1.0 -q mmssrc location="$URL_MMSU" ! fakesink || true
  timed ffmpeg_rtspt ffmpeg -nostdin -hide_banner -loglevel error -rtsp_transport tcp -i "$URL_RTSP" \
    -map 0 -c copy -f null - || true
  timed mmssrc_rtspt gst-launch-1.0 -q mmssrc location="$URL_RTSPT" ! fakesink || true
  timed mmssrc_rtspu gst-launch-1.0 -q mmssrc location="$URL_RTSPU" ! fakesink || true
  if [[ -n "$have_vlc" ]]; then
    # VLC remuxes into a file its user can write; a run only counts when the
    # file holds at least half of the input (cvlc exits 0 even when the
    # input cannot be opened). No --no-audio/--no-video: access_mms would
    # deselect both streams and give up ("no stream selected").
    chmod 711 "$W" && mkdir -p "$W/vlc" && chmod 777 "$W/vlc" && rm -f "$W/vlc/out.asf"
    timed vlc "${as_vlc[@]}" cvlc "$URL" \
      --sout "#std{access=file,mux=asf,dst=$W/vlc/out.asf}" vlc://quit || have_vlc=
    got=$(stat -c %s "$W/vlc/out.asf" 2>/dev/null || echo 0)
    if ((got < SIZE / 2)); then
      echo "bench: VLC wrote only $got bytes; leaving it out:" >&2
      grep -E 'access_mms|input error' "$W/vlc.err" | head -n 3 >&2 || true
      vlc_note="VLC 3.0 (access_mms) could not play the stream (it wrote $got bytes): $(grep -E 'access_mms|input error' "$W/vlc.err" | head -n 2 | sed 's/^\[[0-9a-f]*\] //' | tr '\n' ';')"
      have_vlc=
    fi
  fi
done
[[ -n "$have_vlc" ]] || clients=(raw libmms ffmpeg mmssrc)

timeout 300 "$W/firstbuf" "$URL" 5 >"$W/firstbuf.out" 2>"$W/firstbuf.err" || true

for c in "${mms_clients[@]}"; do if [[ -s "$W/$c.times" ]]; then clients+=("$c"); fi; done
# Rollover: time to first buffer per scenario (a small file; the walk matters, not the size).
bash "$ROOT/bench/rollover.sh" "$BUILD" "$W/firstbuf" "$ROOT/build-release/bench-small" \
  av-wmv2-wma2-10s.asf 5 >"$W/rollover.md" 2>"$W/rollover.err" ||
  echo "(rollover benchmark failed: $(tail -n 2 "$W/rollover.err" | tr '\n' ' '))" >"$W/rollover.md"
# Reconnect: fault mid-stream (fault relay) to the first new packet, per transport.
bash "$ROOT/bench/reconnect.sh" "$BUILD" "$ROOT/build-release/bench-small" \
  av-wmv2-wma2-60s.asf 3 >"$W/reconnect.md" 2>"$W/reconnect.err" ||
  echo "(reconnect benchmark failed: $(tail -n 2 "$W/reconnect.err" | tr '\n' ' '))" >"$W/reconnect.md"
# First picture in a playbin player from a paced server, with and without Fast Start.
bash "$ROOT/bench/firstpicture.sh" "$BUILD" "$ROOT/build-release/bench-small" 3 \
  >"$W/firstpicture.md" 2>"$W/firstpicture.err" ||
  echo "(first picture benchmark failed: $(tail -n 2 "$W/firstpicture.err" | tr '\n' ' '))" >"$W/firstpicture.md"
python3 - "$W" "$SIZE" "$RUNS" "${clients[@]}" >"$W/table.md" <<'PY'
import statistics, sys
w, size, runs, clients = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
mb = size / 1e6
rows = {}
for c in clients:
    samples = [tuple(map(float, l.split())) for l in open(f'{w}/{c}.times') if l.strip()]
    wall = statistics.median(s[0] for s in samples)
    cpu = statistics.median(s[1] + s[2] for s in samples)
    rows[c] = (max(wall, 0.005), cpu)
raw_rate = mb / rows['raw'][0]
names = {'raw': 'raw TCP (baseline)', 'libmms': 'libmms 0.6.4', 'ffmpeg': 'FFmpeg',
         'mmssrc': 'mmssrc (gst-launch)', 'vlc': 'VLC',
         'libmms_mmst': 'libmms, MMS/TCP', 'ffmpeg_mmst': 'FFmpeg, MMS/TCP',
         'mmssrc_mmst': 'mmssrc, MMS/TCP (gst-launch)', 'mmssrc_mmsu': 'mmssrc, MMS/UDP (gst-launch)',
         'ffmpeg_rtspt': 'FFmpeg, RTSP/TCP', 'mmssrc_rtspt': 'mmssrc, RTSP/TCP (gst-launch)',
         'mmssrc_rtspu': 'mmssrc, RTSP/UDP (gst-launch)'}
print('| client | wall s (median of %d) | MB/s | CPU s per 100 MB | vs raw TCP |' % runs)
print('| --- | ---: | ---: | ---: | ---: |')
for c in clients:
    wall, cpu = rows[c]
    rate = mb / wall
    print(f'| {names[c]} | {wall:.2f} | {rate:.0f} | {cpu * 100 / mb:.2f} | {rate / raw_rate:.2f}x |')
fb = []
try:
    for l in open(f'{w}/firstbuf.out'):
        kv = dict(x.split('=') for x in l.split())
        fb.append(float(kv.get('first_media_ms', kv['first_buffer_ms'])))
except OSError:
    pass
runs_in = []
try:
    for l in open(f'{w}/firstbuf.out'):
        kv = dict(x.split('=') for x in l.split())
        if 'cpu_s' in kv and int(kv['bytes']) > 0:
            runs_in.append((float(kv['total_ms']) / 1000.0, float(kv['cpu_s']), int(kv['bytes'])))
except OSError:
    pass
if runs_in:
    wall = statistics.median(r[0] for r in runs_in)
    cpu = statistics.median(r[1] for r in runs_in)
    rate = runs_in[0][2] / 1e6 / wall
    print(f'| mmssrc (in-process, PLAYING to EOS, median of {len(runs_in)}) | {wall:.2f} | {rate:.0f} | '
          f'{cpu * 100 / (runs_in[0][2] / 1e6):.2f} | {rate / raw_rate:.2f}x |')
print()
if fb:
    print(f'mmssrc time to first media (PLAYING to the first data buffer at fakesink, {len(fb)} runs): '
          f'median {statistics.median(fb):.1f} ms, min {min(fb):.1f} ms, max {max(fb):.1f} ms')
else:
    print('mmssrc time to first buffer: not measured (firstbuf failed)')
PY

{
  echo "# Benchmarks"
  echo
  echo "Generated by \`bench/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs"
  echo "($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), $(uname -sr)."
  echo
  echo "Input: \`$FILE\` generated by \`tests/media/make-test-media.sh DIR big\`, $SIZE bytes"
  echo "(640x480 WMV2 + WMA2, 8000-byte packets), served by \`mms-server --fast\` (no pacing) on"
  echo "127.0.0.1. Every client reads the whole file once per run; CPU is the client's user + system"
  echo "time from \`/usr/bin/time\` (the server's is not included). MB = 10^6 bytes."
  echo "Process-level rows include each program's start-up (for gst-launch about 0.1 s of plugin"
  echo "loading); the in-process mmssrc row times PLAYING to EOS inside one process with CPU from"
  echo "getrusage, so it shows the streaming path alone and is not comparable 1:1 with the raw TCP row."
  echo
  cat "$W/table.md"
  echo
  echo "Command lines:"
  echo
  for c in "${clients[@]}"; do echo "- $c: \`${CMDLINE[$c]}\`"; done
  echo "- time to first media: \`bench/firstbuf URL 5\` (mmssrc ! fakesink signal-handoffs=true)"
  if [[ -n "$vlc_note" ]]; then echo; echo "$vlc_note"; fi
  echo
  echo "FFmpeg's RTSP row is over TCP (its UDP reader drops an unpaced burst as late packets); it"
  echo "ends on the server's RTCP BYEs, one per SDP medium (the RTX source's on the first stream's"
  echo "RTCP channel), with no I/O timeout."
  echo
  echo "## Rollover"
  echo
  echo "Time from PLAYING to the first media buffer for \`mms://127.0.0.1:PORT/av-wmv2-wma2-10s.asf\`"
  echo "against \`mms-server --port PORT --fast\` (RTSP, MMS and MMSH on one port, UDP on the same"
  echo "number) with transports refused (\`--refuse\`: rtsp = connections closed once recognised,"
  echo "rtspu/mmsu = UDP data silently dropped), mmssrc udp-timeout=1 s, 5 runs each"
  echo "(\`bench/rollover.sh\`)."
  echo
  cat "$W/rollover.md"
  echo
  echo "## Reconnect"
  echo
  echo "Time from a fault 600 KB into \`av-wmv2-wma2-60s.asf\` (tests/tools/fault_relay.py in front"
  echo "of \`mms-server --fast\`: RST, clean close without end-of-stream, or a stall) to mmssrc's"
  echo "first new packet after the reconnect, retries=3, 3 runs each (\`bench/reconnect.sh\`)."
  echo
  cat "$W/reconnect.md"
  echo
  echo "## First picture in a player"
  echo
  echo "Time from asking \`playbin uri=mms://127.0.0.1:PORT/FILE\` (mmssrc pinned to each transport"
  echo "with \`protocols\`) for PLAYING to the first video frame at a synchronised video sink, with"
  echo "gst-play's buffering policy (PAUSED while buffering), from a real-time (paced) \`mms-server\`,"
  echo "median of 3 runs (\`bench/firstpicture.sh\`, player \`bench/firstpicture.py\`). FILE is the 60 s"
  echo "WMV2 + WMA2 test clip as FFmpeg writes it, and the same with a Stream Bitrate Properties object"
  echo "as Windows Media Encoder writes it. Fast Start: mmssrc asks for it (the default), the server"
  echo "grants 10x; \"no Fast Start\" is a server with \`--fast-start-factor 1\`. Milliseconds."
  echo
  cat "$W/firstpicture.md"
  echo
  echo "uridecodebin buffers a stream URI in a queue2 sized from the streams' bitrate tags (2 s of"
  echo "media); FFmpeg's ASF muxer writes no video bitrate, so mmssrc adds a Stream Bitrate Properties"
  echo "object to such headers when the bitrates can be told (docs/element.md, Fast Start): without"
  echo "it queue2 measures buffered time by the input rate, which a burst does not shorten."
  echo
  echo "Versions: $(ffmpeg -version | head -n1 | cut -d' ' -f1-3), $(gst-launch-1.0 --version | sed -n 2p),"
  echo "libmms $(pkg-config --modversion libmms)$( [[ -n "$have_vlc" ]] && echo ", $(cvlc --version 2>/dev/null | head -n1)")."
  # Written analyses (before/after comparisons) below the marker are kept.
  if [[ -f "$W/notes.md" ]]; then echo; cat "$W/notes.md"; fi
} >"$OUT_MD.new"
mv "$OUT_MD.new" "$OUT_MD"
cat "$W/table.md"
cat "$W/rollover.md"
echo "bench: wrote $OUT_MD"
