#!/usr/bin/env bash
# Server load: many concurrent MMSH players on one real-time (paced)
# mms-server. For each client count a fresh server streams a ~128 kbit/s
# WMA2 file to that many MMSH Play requests from bench/mmsh_load (epoll, one
# process); after every client is streaming and a 3 s warm-up, the window of
# SECONDS is measured: bytes received, the server's CPU time (utime + stime
# from /proc/PID/stat) and its VmRSS (sampled every 250 ms, peak; the idle
# value is taken once the first client is served, so the content cache is in
# it). Not part of the tests.
#
# usage: bench/server_load.sh BUILD_DIR MEDIA_DIR [SECONDS] [CLIENTS...]
#   BUILD_DIR holds tools/server/mms-server and bench/mmsh_load (meson).
#   MEDIA_DIR gets load-128k.wma (FFmpeg, 120 s, WMA2 128 kbit/s) if missing.
#   SECONDS defaults to 20, CLIENTS to "100 1000".
# Prints a Markdown table.
set -euo pipefail

BUILD=$1 MEDIA=$2
SECONDS_WIN=${3:-20}
shift $(($# < 3 ? $# : 3))
COUNTS=("$@")
((${#COUNTS[@]})) || COUNTS=(100 1000)
SERVER="$BUILD/tools/server/mms-server"
[[ -x "$SERVER" ]] || SERVER="$BUILD/tools/mms-server"
LOAD="$BUILD/bench/mmsh_load"
[[ -x "$SERVER" ]] || { echo "server_load: no mms-server in $BUILD" >&2; exit 1; }
[[ -x "$LOAD" ]] || { echo "server_load: no bench/mmsh_load in $BUILD" >&2; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/mms-load.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT

FILE=load-128k.wma
mkdir -p "$MEDIA"
if [[ ! -s "$MEDIA/$FILE" ]]; then
  ffmpeg -nostdin -hide_banner -loglevel error -y -threads 1 \
    -f lavfi -i sine=frequency=440:sample_rate=44100 -t 120 \
    -c:a wmav2 -b:a 128k -ac 2 -f asf "$MEDIA/$FILE.tmp"
  mv "$MEDIA/$FILE.tmp" "$MEDIA/$FILE"
fi
# Sockets for the server and the generator: one per client each, plus some.
ulimit -n "$(ulimit -Hn)"

echo "| clients asked | streaming | Mbit/s received | server CPU % of one core | server CPU µs per client-second | server RSS MB (peak) | RSS per client KB | generator CPU % |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
run=0
for n in "${COUNTS[@]}"; do
  run=$((run + 1))
  "$SERVER" --root "$MEDIA" --bind 127.0.0.1 --mmsh-port 0 --mms-port 0 --rtsp-port 0 \
    >"$W/server-$run.out" 2>"$W/server-$run.err" &
  spid=$!
  pids+=("$spid")
  port=
  for ((i = 0; i < 200; i++)); do
    port=$(sed -n 's/^mms-server listening mmsh=\([0-9][0-9]*\).*/\1/p' "$W/server-$run.out" | head -n1)
    [[ -n "$port" ]] && break
    sleep 0.05
  done
  [[ -n "$port" ]] || { echo "server_load: mms-server did not start" >&2; exit 1; }
  "$LOAD" "$port" "/$FILE" "$n" "$SECONDS_WIN" "$spid" >"$W/load.out" 2>"$W/load.err" ||
    { echo "server_load: mmsh_load failed for $n clients:" >&2; tail -n 5 "$W/load.err" >&2; exit 1; }
  grep -vE "^mmsh_load: +[0-9.]+ s " "$W/load.err" | sort | uniq -c >&2 || true
  cat "$W/load.out" >&2
  kill "$spid" 2>/dev/null || true
  wait "$spid" 2>/dev/null || true
  python3 - "$W/load.out" <<'PY'
import sys
kv = dict(x.split('=', 1) for x in open(sys.argv[1]).read().split())
n, s, win = int(kv['clients']), int(kv['streaming']), float(kv['window_s'])
cpu = float(kv['server_cpu_s'])
peak, idle = int(kv['rss_peak_kb']), int(kv['rss_idle_kb'])
per_us = cpu / win / s * 1e6 if s else float('nan')
per_kb = (peak - idle) / s if s else float('nan')
print(f"| {n} | {s} | {float(kv['mbit_s']):.1f} | {float(kv['server_cpu_pct']):.1f} | "
      f"{per_us:.1f} | {peak / 1024:.1f} | {per_kb:.1f} | {float(kv['self_cpu_pct']):.1f} |")
PY
done
