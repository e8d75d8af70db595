#!/usr/bin/env bash
# A real link: mms-server runs in a network namespace of its own at a
# non-loopback address, behind a veth pair; mmssrc runs outside it. Every
# transport (and mms:// walking to RTSP/UDP) records the stream over the link
# with decoded frames equal to the file's; TCP transports run through a
# token-bucket shaped link (tc tbf), and so do MMS/UDP and RTSP/UDP from the
# fast server (paced only by the client's resend requests and RTCP receiver
# reports, tbf dropping what its queue cannot hold); the MMS/UDP funnel names the client's
# own address of the link (checked on the wire with tshark); a blackout of
# the link (down for 3 s) on MMS/UDP and RTSP/UDP ends, after a reconnect,
# with every frame equal to the file's.
# Needs root (ip netns); exits 77 when namespaces cannot be created.
source "$(dirname "${BASH_SOURCE[0]}")/../interop/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need ip tc gst-launch-1.0 python3
[[ $(id -u) -eq 0 ]] || skip "needs root to create network namespaces"
ensure_media
gst_env

netns_setup

F=av-wmv2-wma2-10s.asf
run "$CMD_TIMEOUT" "$SYS_PYTHON" "$INTEROP_DIR/gst_frames.py" "file://$MEDIA/$F" >"$T/want.txt" ||
  fail "cannot decode the local file"
[[ -s "$T/want.txt" ]] || fail "the local file decoded to nothing"

# same_frames GOT.asf WHAT [WANT]: the recording decodes (asfdemux) to the
# file's frames (WANT: the frames of the file, default those of $F).
same_frames() {
  run "$CMD_TIMEOUT" "$SYS_PYTHON" "$INTEROP_DIR/gst_frames.py" "file://$1" >"$T/got.txt" ||
    fail "$2: the recording does not decode"
  compare_lines "$2: decoded frames" "${3:-$T/want.txt}" "$T/got.txt"
}

# transport_of LOG: the winner named by the mms-transport message.
transport_of() {
  sed -n 's/.*mms-transport, transport=(string)\([a-z]*\).*/\1/p' "$1" | head -n1
}

serve_in_ns fast --fast
# 1. TCP transports over a shaped link (40 Mbit/s token bucket, server to client).
ip netns exec "$NS" tc qdisc add dev "$VB" root tbf rate 40mbit burst 64kb latency 200ms
for scheme in mmsh mmst rtspt; do
  got="$T/$scheme.asf"
  record_via "$scheme://$SERVER_IP:$NS_PORT/$F" "$got"
  same_frames "$got" "$scheme over the shaped link"
done
# The same link for UDP from the fast server: 2.5 MB are more than tbf queues
# (~1 MB), so MMS/UDP loses packets until its resend requests have slowed the
# server down, and recovers them; RTSP/UDP stays within the window its
# receiver reports allow. Every frame arrives either way.
F60=av-wmv2-wma2-60s.asf
run "$CMD_TIMEOUT" "$SYS_PYTHON" "$INTEROP_DIR/gst_frames.py" "file://$MEDIA/$F60" >"$T/want60.txt" ||
  fail "cannot decode the local $F60"
for scheme in mmsu rtspu; do
  got="$T/shaped-$scheme.asf"
  record_via "$scheme://$SERVER_IP:$NS_PORT/$F60" "$got"
  same_frames "$got" "$scheme from the fast server over the shaped link" "$T/want60.txt"
done
ip netns exec "$NS" tc qdisc del dev "$VB" root

# 2. UDP transports, and mms:// walking to RTSP/UDP; MMS/UDP's funnel on the wire.
capture=()
if command -v tshark >/dev/null 2>&1; then
  tshark -i "$VA" -f "tcp port $NS_PORT" -w "$T/mmsu.pcapng" >"$T/tshark.out" 2>"$T/tshark.log" &
  _pids+=($!)
  capture=($!)
  await_line "$T/tshark.log" '/Capturing on/p' >/dev/null || log "tshark did not say it captures"
fi
for scheme in mmsu rtspu mms; do
  got="$T/$scheme.asf"
  record_via "$scheme://$SERVER_IP:$NS_PORT/$F" "$got"
  won=$(transport_of "$got.log")
  case $scheme in
    mms) [[ $won == rtspu ]] || fail "mms:// over the link won on '$won', want rtspu" ;;
    *) [[ $won == "$scheme" ]] || fail "$scheme: won on '$won'" ;;
  esac
  same_frames "$got" "$scheme over the link (transport $won)"
  if [[ $scheme == mmsu && ${#capture[@]} -gt 0 ]]; then
    sleep 0.5
    kill "${capture[0]}" 2>/dev/null || true
    wait "${capture[0]}" 2>/dev/null || true
    python3 - "$T/mmsu.pcapng" "$CLIENT_IP" <<'PY' || fail "MMS/UDP funnel does not name the client's address $CLIENT_IP"
import sys
data = open(sys.argv[1], 'rb').read()
want = ('\\\\' + sys.argv[2] + '\\UDP\\').encode('utf-16-le')
loop = '\\\\127.0.0.1\\UDP\\'.encode('utf-16-le')
if want not in data or loop in data:
    sys.exit(1)
at = data.index(want)
end = data.find(b'\0\0', at + len(want))
print('[netns_link] funnel on the wire:', data[at:end + 1].decode('utf-16-le', 'replace'))
PY
  fi
done

# 3. Blackouts: the link goes down for 3 s while a paced stream plays over
# MMS/UDP and RTSP/UDP; no data for `timeout` (2 s) -> reconnect, resumed at
# the next undelivered packet. Without Fast Start: a burst would deliver the
# whole clip before the blackout.
serve_in_ns paced
for scheme in mmsu rtspu; do
  got="$T/blackout-$scheme.asf"
  "${GST_RUN[@]}" gst-launch-1.0 -m mmssrc location="$scheme://$SERVER_IP:$NS_PORT/$F" \
    timeout=2 retries=-1 retry-delay-max=1 fast-start=false ! filesink location="$got" >"$got.log" 2>&1 &
  client=$!
  _pids+=("$client")
  sleep 3
  ip link set "$VA" down
  sleep 3
  ip link set "$VA" up
  finish_within "$client" 40 "$got.log" "$scheme blackout"
  n=$(reconnects "$got.log")
  [[ $n -ge 1 ]] || fail "$scheme blackout: no reconnect"
  same_frames "$got" "$scheme after a 3 s blackout ($n reconnect attempts)"
done
log "PASS"
