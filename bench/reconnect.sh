#!/usr/bin/env bash
# Reconnect benchmark: the time from a fault mid-stream to the first new
# packet out of mmssrc, per transport and fault, through the fault relay of
# the tests (tests/tools/fault_relay.py) in front of mms-server --fast.
# Not part of the tests.
#
# usage: bench/reconnect.sh BUILD_DIR MEDIA_DIR FILE [RUNS]
# Prints a Markdown table (median / max of RUNS runs, default 3). The fault
# time is the relay's log stamp; the first new packet is mmssrc's
# "reconnected" log line (GST_DEBUG timestamps are converted to wall time
# through the "reconnecting" line, which carries both clocks' view).
set -euo pipefail

BUILD=$1 MEDIA=$2 FILE=$3 RUNS=${4:-3}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVER="$BUILD/tools/server/mms-server"
[[ -x "$SERVER" ]] || SERVER="$BUILD/tools/mms-server"
W=$(mktemp -d "${TMPDIR:-/tmp}/mms-reconnect.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
export GST_PLUGIN_PATH="$BUILD/gst"

"$SERVER" --root "$MEDIA" --bind 127.0.0.1 --mmsh-port 0 --mms-port 0 --rtsp-port 0 --fast \
  >"$W/server.out" 2>/dev/null &
pids+=($!)
for ((i = 0; i < 200; i++)); do
  grep -q listening "$W/server.out" && break
  sleep 0.05
done
port() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$W/server.out"; }
declare -A PORT=([mmsh]=$(port mmsh) [mmst]=$(port mms) [rtspt]=$(port rtsp))

# one SCHEME FAULT -> prints milliseconds from the fault to the first new packet
one() {
  local scheme=$1 fault=$2 extra=()
  [[ $fault == stall-after ]] && extra=(timeout=1)
  python3 "$ROOT/tests/tools/fault_relay.py" --target "127.0.0.1:${PORT[$scheme]}" \
    "--$fault" 600000 --stamp >"$W/relay.out" 2>"$W/relay.log" &
  local relay=$!
  local rport=
  for ((i = 0; i < 100; i++)); do
    rport=$(sed -n 's/^fault-relay listening \([0-9]*\)$/\1/p' "$W/relay.out")
    [[ -n "$rport" ]] && break
    sleep 0.05
  done
  GST_DEBUG=mmssrc:5 GST_DEBUG_NO_COLOR=1 GST_DEBUG_FILE="$W/gst.log" \
    timeout 60 gst-launch-1.0 -q mmssrc location="$scheme://127.0.0.1:$rport/$FILE" "${extra[@]}" \
    ! fakesink >/dev/null 2>&1 || true
  kill "$relay" 2>/dev/null || true
  wait "$relay" 2>/dev/null || true
  python3 - "$W/relay.log" "$W/gst.log" <<'PY'
import re, sys
fault = None
for line in open(sys.argv[1]):
    m = re.match(r'fault-relay: ([0-9.]+) connection \d+: .* after', line)
    if m:
        fault = float(m.group(1))
rec = None
for line in open(sys.argv[2], errors='replace'):
    m = re.search(r'reconnected at monotonic ([0-9.]+)', line)
    if m:
        rec = float(m.group(1))
if fault is None or rec is None:
    print('nan')
else:
    print(f'{(rec - fault) * 1000:.1f}')
PY
}

echo "| transport | fault after 600 KB | fault to first new packet, ms (median) | max ms | includes |"
echo "| --- | --- | ---: | ---: | --- |"
for scheme in mmsh mmst rtspt; do
  for fault in reset-after close-after stall-after; do
    vals=()
    for ((r = 0; r < RUNS; r++)); do
      vals+=("$(one "$scheme" "$fault")")
    done
    stats=$(printf '%s\n' "${vals[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%s | %s", a[int((NR+1)/2)], a[NR]}')
    case $fault in
      stall-after) inc="timeout=1 s (no-data detection) + 250 ms backoff" ;;
      *) inc="250 ms backoff" ;;
    esac
    echo "| $scheme | ${fault%-after} | $stats | $inc |"
  done
done
