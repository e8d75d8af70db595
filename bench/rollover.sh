#!/usr/bin/env bash
# Rollover benchmark: time from PLAYING to the first media buffer (the first
# data packets, after the ASF header) out of mmssrc for
# an mms:// URL, per rollover scenario, against one mms-server port serving
# RTSP, MMS and MMSH (UDP data on the same number). Not part of the tests.
#
# usage: bench/rollover.sh BUILD_DIR FIRSTBUF_BIN MEDIA_DIR FILE [RUNS]
# Prints a Markdown table (median / max of RUNS runs per scenario, default 5)
# with the transport that won, next to the configured bound: the UDP timeout
# for the scenarios that must wait for UDP silence, nothing for the others.
set -euo pipefail

BUILD=$1 FIRSTBUF=$2 MEDIA=$3 FILE=$4 RUNS=${5:-5}
SERVER="$BUILD/tools/server/mms-server"
[[ -x "$SERVER" ]] || SERVER="$BUILD/tools/mms-server"
UDP_TIMEOUT_US=1000000
W=$(mktemp -d "${TMPDIR:-/tmp}/mms-rollover.XXXXXX")
pid=
cleanup() { [[ -n "$pid" ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
export GST_PLUGIN_PATH="$BUILD/gst"

scenario() {  # scenario NAME BOUND REFUSE...
  local name=$1 bound=$2; shift 2
  local args=() r
  for r in "$@"; do args+=(--refuse "$r"); done
  "$SERVER" --root "$MEDIA" --bind 127.0.0.1 --port 0 --fast "${args[@]}" >"$W/server.out" 2>/dev/null &
  pid=$!
  local port= i
  for ((i = 0; i < 200; i++)); do
    port=$(grep -o '=[0-9]*' "$W/server.out" | head -n1 | tr -d =) || true
    [[ -n "$port" ]] && break
    sleep 0.05
  done
  [[ -n "$port" ]] || { echo "rollover: server did not start" >&2; exit 1; }
  timeout 300 "$FIRSTBUF" "mms://127.0.0.1:$port/$FILE" "$RUNS" "udp-timeout=$UDP_TIMEOUT_US" \
    >"$W/$name.out" 2>"$W/$name.err" || true
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=
  python3 - "$W/$name.out" "$name" "$bound" "$*" <<'PY'
import statistics, sys
path, name, bound, refused = sys.argv[1:5]
runs = [dict(x.split('=', 1) for x in l.split()) for l in open(path) if l.strip()]
if not runs:
    print(f'| {name} | {refused or "-"} | failed | | | {bound} |')
    sys.exit(0)
fb = [float(r['first_media_ms']) for r in runs]
transports = sorted(set(r.get('transport', '-') for r in runs))
print(f'| {name} | {refused or "-"} | {",".join(transports)} | {statistics.median(fb):.1f} | '
      f'{max(fb):.1f} | {bound} |')
PY
}

echo "| scenario | refused by the server | winner | first media ms (median) | max ms | bound |"
echo "| --- | --- | --- | ---: | ---: | --- |"
scenario "all open" "-"
scenario "RTSP closed" "-" rtsp
scenario "UDP blackholed" "udp-timeout $((UDP_TIMEOUT_US / 1000)) ms (+0.2 s target)" rtspu mmsu
scenario "only MMSH" "-" rtsp mms
