# Helpers of the field tests (faults, restarts, network namespaces); sourced
# after tests/interop/lib.sh, whose server, FFmpeg and GStreamer helpers they use.

FIELD_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RELAY="$SRC_ROOT/tests/tools/fault_relay.py"

# server_port NAME: a port of the last start_server's ready line (mmsh, mms, rtsp).
server_port() {
  sed -n "s/^mms-server listening.* $1=\([0-9][0-9]*\).*/\1/p" "$T/server.out" | head -n1
}

# await_line FILE SED_SCRIPT [TRIES]: prints the first line `sed -n SED_SCRIPT`
# makes of FILE, polling every 0.1 s (default 100 tries); fails when none comes.
await_line() {
  local file=$1 script=$2 tries=${3:-100} i v
  for ((i = 0; i < tries; i++)); do
    v=$(sed -n "$script" "$file" | head -n1)
    [[ -n "$v" ]] && { echo "$v"; return 0; }
    sleep 0.1
  done
  return 1
}

# finish_within PID SECONDS LOG WHAT: the client PID ends within SECONDS and
# succeeds (else the test fails, with LOG's tail).
finish_within() {
  local pid=$1 secs=$2 out=$3 what=$4 i
  for ((i = 0; i < secs * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && fail "$what: the client did not finish within $secs s"
  wait "$pid" || { tail -n 20 "$out"; fail "$what: the pipeline failed"; }
}

# start_relay TARGET_PORT [fault_relay options...]: a fault relay on
# 127.0.0.1 in front of 127.0.0.1:TARGET_PORT; sets RELAY_PORT. Its log is
# $T/relay-N.log (N counts the relays of the test).
_relays=0
start_relay() {
  local target=$1; shift
  _relays=$((_relays + 1))
  RELAY_LOG="$T/relay-$_relays.log"
  local out="$T/relay-$_relays.out"
  : >"$out"
  python3 "$RELAY" --target "127.0.0.1:$target" "$@" >"$out" 2>"$RELAY_LOG" &
  _pids+=($!)
  RELAY_PORT=$(await_line "$out" 's/^fault-relay listening \([0-9][0-9]*\)$/\1/p') ||
    fail "fault relay did not start"
}

# record_via URL OUT [mmssrc properties...]: mmssrc -> filesink, bus messages
# in OUT.log (gst-launch -m). Fails when gst-launch fails.
record_via() {
  local url=$1 out=$2; shift 2
  run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-launch-1.0 -m mmssrc location="$url" "$@" ! \
    filesink location="$out" >"$out.log" 2>&1 ||
    { tail -n 20 "$out.log" >&2; fail "$url: gst-launch-1.0 mmssrc failed"; }
}

# expect_same_as_file FILE GOT WHAT: packet and decoded-frame checksums of
# the recording GOT equal those of the local FILE (no duplicate, no gap).
expect_same_as_file() {
  local f=$1 got=$2 what=$3
  framemd5_copy "$MEDIA/$f" >"$T/want.md5"
  framemd5_copy "$got" >"$T/got.md5" 2>"$T/ffmpeg.log" || fail "$what: ffmpeg cannot read the recording"
  compare_lines "$what: packets" "$T/want.md5" "$T/got.md5"
  framemd5_decoded "$MEDIA/$f" >"$T/want-dec.md5"
  framemd5_decoded "$got" >"$T/got-dec.md5" 2>"$T/ffmpeg.log" || fail "$what: ffmpeg cannot decode the recording"
  compare_lines "$what: decoded frames" "$T/want-dec.md5" "$T/got-dec.md5"
}

# reconnects LOG: how many reconnect attempts (progress START, code reconnect) LOG shows.
reconnects() {
  { grep 'code=(string)reconnect' "$1" | grep -c 'GstProgressType)start' || true; } | head -n1
}

# The EXIT trap of netns_setup: removes the veth pair and the namespace.
_netns_cleanup() {
  local rc=$?
  ip link del "$VA" 2>/dev/null || true
  ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  (exit $rc)
  _cleanup
}

# netns_setup: a network namespace NS of this run with mms-server's end of a
# veth pair (VB, SERVER_IP) inside and the client's end (VA, CLIENT_IP)
# outside, removed on exit; skips (77) when namespaces cannot be created.
# Names and addresses of this run only: 198.18.0.0/15 is the range set aside
# for network tests (RFC 2544); only the two ends of our own veth pair use it.
netns_setup() {
  [[ $(id -u) -eq 0 ]] || skip "needs root to create network namespaces"
  NS="mmsfield$$"
  VA="mf$$a"
  VB="mf$$b"
  OCTET=$(($$ % 250 + 1))
  CLIENT_IP="198.18.$OCTET.1"
  SERVER_IP="198.18.$OCTET.2"
  trap _netns_cleanup EXIT
  ip netns add "$NS" 2>/dev/null || skip "cannot create a network namespace"
  ip link add "$VA" type veth peer name "$VB" || skip "cannot create a veth pair"
  ip link set "$VB" netns "$NS"
  ip addr add "$CLIENT_IP/30" dev "$VA"
  ip link set "$VA" up
  ip netns exec "$NS" ip addr add "$SERVER_IP/30" dev "$VB"
  ip netns exec "$NS" ip link set "$VB" up
  ip netns exec "$NS" ip link set lo up
  log "namespace $NS: server side $SERVER_IP ($VB), client side $CLIENT_IP ($VA)"
}

# serve_in_ns NAME [options...]: mms-server inside the namespace on one port
# for every protocol; sets NS_PORT.
serve_in_ns() {
  local name=$1; shift
  local out="$T/$name.out"
  ip netns exec "$NS" "$SERVER_BIN" --root "$MEDIA" --bind "$SERVER_IP" --port 0 "$@" \
    >"$out" 2>"$T/$name.log" &
  _pids+=($!)
  NS_PORT=$(await_line "$out" 's/^mms-server listening mmsh=\([0-9][0-9]*\).*/\1/p' 200) ||
    fail "mms-server in the namespace did not start"
}

