#!/usr/bin/env bash
# UDP faults: the fault relay in --udp mode sits between mmssrc and a paced
# mms-server on MMS/UDP and RTSP/UDP (it rewrites the UDP port the client
# announces, relays the server's datagrams and damages them), and mmssrc
# survives each fault:
#   burst drop  MMS/UDP asks for resends: recording identical to the one
#               without a fault. mmssrc does not ask RTSP servers for
#               retransmissions (no NACK, no RTX stream), so on RTSP/UDP the
#               loss shows: a DISCONT, and packets missing (no more than the
#               relay dropped; every other packet the clean recording's, none
#               twice, the last one there); it plays on to the end without a
#               reconnect.
#   reordering  neighbours swapped: every frame equal to the file's.
#   delay       every datagram 300 ms late: every frame equal.
#   blackout    no datagram for 5 s, the control connection up: no data for
#               `timeout` (2 s) -> reconnect, resume, every frame equal.
# Every fault is checked in the relay's log, so no case passes without it.
source "$(dirname "${BASH_SOURCE[0]}")/../interop/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need ffmpeg gst-launch-1.0 python3
ensure_media
gst_env
# Paced (real time): datagrams spread over the 10 s of the file, so a fault
# after N datagrams lands mid-stream and a blackout outlasts `timeout`.
start_server --mms-port 0 --rtsp-port 0
F=av-wmv2-wma2-10s.asf
declare -A PORT=([mmsu]=$(server_port mms) [rtspu]=$(server_port rtsp))

run "$CMD_TIMEOUT" "$SYS_PYTHON" "$INTEROP_DIR/gst_frames.py" "file://$MEDIA/$F" >"$T/want.txt" ||
  fail "cannot decode the local file"
[[ -s "$T/want.txt" ]] || fail "the local file decoded to nothing"

# same_frames GOT.asf WHAT: the recording decodes (asfdemux) to the file's frames.
same_frames() {
  run "$CMD_TIMEOUT" "$SYS_PYTHON" "$INTEROP_DIR/gst_frames.py" "file://$1" >"$T/got.txt" ||
    fail "$2: the recording does not decode"
  compare_lines "$2: decoded frames" "$T/want.txt" "$T/got.txt"
}

# record URL OUT [mmssrc properties...]: as record_via, with an identity
# that logs every buffer (and its DISCONT flag) in OUT.log.
record() {
  local url=$1 out=$2; shift 2
  run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-launch-1.0 -m -v mmssrc location="$url" "$@" ! \
    identity silent=false ! filesink location="$out" >"$out.log" 2>&1 ||
    { tail -n 20 "$out.log" >&2; fail "$url: gst-launch-1.0 mmssrc failed"; }
}

# disconts LOG: buffers pushed with DISCONT.
disconts() {
  { grep 'last-message = chain' "$1" | grep -c ' discont ' || true; } | head -n1
}

# relay_count PATTERN: lines of the last relay's log matching PATTERN.
relay_count() {
  { grep -c -- "$1" "$RELAY_LOG" || true; } | head -n1
}

# summary: the relay's UDP summary of connection 1 (written when that
# connection ends, just after the client closed it: waited for).
summary() {
  await_line "$RELAY_LOG" 's/^fault-relay: connection 1: udp: \([0-9]* datagrams to the client.*\)/\1/p' ||
    fail "the relay wrote no UDP summary for connection 1"
}

# fault_line PATTERN: the relay's first log line matching PATTERN, without its prefix.
fault_line() {
  grep -m1 -- "$1" "$RELAY_LOG" | sed 's/^fault-relay: //'
}

# lost_packets CLEAN GOT MAX: every ASF packet of GOT is one of CLEAN's (none
# twice, the last one CLEAN's last: the end is there) and 1..MAX are missing;
# prints how many.
lost_packets() {
  python3 - "$@" <<'PY'
import collections, struct, sys, uuid

FILE_PROPERTIES = uuid.UUID('8cabdca1-a947-11cf-8ee4-00c00c205365').bytes_le

def packets(path):
    data = open(path, 'rb').read()
    header = struct.unpack_from('<Q', data, 16)[0]
    fp = data.index(FILE_PROPERTIES, 30, header)
    size = struct.unpack_from('<I', data, fp + 24 + 16 + 8 * 6 + 8)[0]  # max packet size
    body = data[header + 50:]
    return [body[i:i + size] for i in range(0, len(body), size)]

clean, got, most = packets(sys.argv[1]), packets(sys.argv[2]), int(sys.argv[3])
extra = collections.Counter(got) - collections.Counter(clean)
if extra:
    sys.exit(f'{sum(extra.values())} recorded packets are not the clean recording\'s (or doubled)')
if not got or got[-1] != clean[-1]:
    sys.exit('the recording does not end with the clean recording\'s last packet')
missing = len(clean) - len(got)
if not 1 <= missing <= most:
    sys.exit(f'{missing} packets missing, want 1..{most}')
print(missing)
PY
}

for scheme in mmsu rtspu; do
  # The reference: the same transport through the relay without a fault.
  start_relay "${PORT[$scheme]}" --udp
  clean="$T/clean-$scheme.asf"
  record "$scheme://127.0.0.1:$RELAY_PORT/$F" "$clean"
  case $scheme in
    mmsu) grep -q 'mms funnel .*\\UDP\\[0-9]* -> ' "$RELAY_LOG" || fail "mmsu: the relay did not rewrite the funnel" ;;
    rtspu) grep -q 'rtsp client_port=[0-9-]* -> ' "$RELAY_LOG" || fail "rtspu: the relay did not rewrite client_port" ;;
  esac
  sum=$(summary)
  [[ $sum =~ ^[1-9][0-9]*\ datagrams ]] || fail "$scheme: no datagram went through the relay ($sum)"
  log "$scheme without a fault: $sum"
  base=$(disconts "$clean.log")
  same_frames "$clean" "$scheme without a fault"
  [[ $scheme == mmsu ]] && expect_same_as_file "$F" "$clean" "$scheme without a fault"

  # 1. A burst of 10 datagrams dropped after 40.
  start_relay "${PORT[$scheme]}" --udp --udp-drop-after 40 --udp-drop-count 10
  got="$T/drop-$scheme.asf"
  record "$scheme://127.0.0.1:$RELAY_PORT/$F" "$got"
  grep -q 'udp: dropped 10 datagrams after 40' "$RELAY_LOG" || fail "$scheme drop: the relay dropped nothing"
  n=$(reconnects "$got.log")
  [[ $n -eq 0 ]] || fail "$scheme drop: $n reconnect(s); a loss is not a broken connection"
  d=$(disconts "$got.log")
  if [[ $scheme == mmsu ]]; then
    asks=$(relay_count "udp: datagram [0-9]* from .* to the server's port")
    [[ $asks -ge 1 ]] || fail "mmsu drop: the client asked for no resend"
    cmp -s "$clean" "$got" || fail "mmsu drop: the recording differs from the one without a fault"
    [[ $d -eq $base ]] || fail "mmsu drop: $d DISCONT buffers, $base without the fault (a packet was given up)"
    log "mmsu drop: $(fault_line 'udp: dropped'); $(summary); $asks resend request(s); recording identical to the one without a fault"
    same_frames "$got" "mmsu after a burst loss"
    expect_same_as_file "$F" "$got" "mmsu after a burst loss"
  else
    [[ $d -gt $base ]] || fail "rtspu drop: no DISCONT for the loss ($d buffers flagged, $base without)"
    lost=$(lost_packets "$clean" "$got" 10) || fail "rtspu drop: the recording is not the clean one minus the loss"
    log "rtspu drop: $(fault_line 'udp: dropped'); $(summary); $lost ASF packets lost (mmssrc does not ask RTSP servers for retransmissions), DISCONT on $d buffers ($base without the fault), played to the end without a reconnect"
  fi

  # 2. Reordering: every 7th datagram swapped with the next.
  start_relay "${PORT[$scheme]}" --udp --udp-reorder-every 7
  got="$T/reorder-$scheme.asf"
  record "$scheme://127.0.0.1:$RELAY_PORT/$F" "$got"
  swaps=$(relay_count 'udp: swapped datagrams')
  [[ $swaps -ge 5 ]] || fail "$scheme reorder: the relay swapped $swaps pairs"
  [[ $(reconnects "$got.log") -eq 0 ]] || fail "$scheme reorder: reconnected"
  [[ $(disconts "$got.log") -eq $base ]] || fail "$scheme reorder: DISCONT buffers ($(disconts "$got.log"), $base without)"
  extra=""
  [[ $scheme == mmsu ]] && extra="; $(relay_count "udp: datagram [0-9]* from .* to the server's port") resend request(s) for overtaken packets (their duplicates dropped)"
  log "$scheme reorder: $(summary)$extra"
  same_frames "$got" "$scheme with $swaps neighbours swapped"
  if [[ $scheme == mmsu ]]; then
    cmp -s "$clean" "$got" || fail "mmsu reorder: the recording differs from the one without a fault"
    expect_same_as_file "$F" "$got" "mmsu reordered"
  fi

  # 3. Every datagram 300 ms late (order kept).
  start_relay "${PORT[$scheme]}" --udp --udp-delay-ms 300
  got="$T/delay-$scheme.asf"
  record "$scheme://127.0.0.1:$RELAY_PORT/$F" "$got"
  grep -q 'udp: delaying every datagram by 300 ms' "$RELAY_LOG" || fail "$scheme delay: the relay delayed nothing"
  [[ $(reconnects "$got.log") -eq 0 ]] || fail "$scheme delay: reconnected"
  log "$scheme delay: $(summary)"
  same_frames "$got" "$scheme with every datagram 300 ms late"
  if [[ $scheme == mmsu ]]; then
    cmp -s "$clean" "$got" || fail "mmsu delay: the recording differs from the one without a fault"
  fi

  # 4. A 5 s blackout after 40 datagrams: the no-data timeout (2 s) reconnects.
  #    Without Fast Start, so that the server is still sending when the
  #    blackout ends (with it, the 10 s file is sent within the blackout; see 5).
  start_relay "${PORT[$scheme]}" --udp --udp-blackout-after 40 --udp-blackout-seconds 5
  got="$T/blackout-$scheme.asf"
  record "$scheme://127.0.0.1:$RELAY_PORT/$F" "$got" timeout=2 retries=3 retry-delay-max=1 \
    fast-start=false
  grep -q 'udp: blackout after 40 datagrams for 5 s' "$RELAY_LOG" || fail "$scheme blackout: the relay blacked nothing out"
  n=$(reconnects "$got.log")
  [[ $n -ge 1 ]] || { tail -n 25 "$got.log"; fail "$scheme blackout: no reconnect"; }
  grep -q "$scheme: reconnected" "$got.log" || fail "$scheme blackout: never reconnected"
  log "$scheme blackout: $(fault_line 'udp: blackout after'); $(summary); $n reconnect(s)"
  same_frames "$got" "$scheme after a 5 s blackout"
  if [[ $scheme == mmsu ]]; then
    cmp -s "$clean" "$got" || fail "mmsu blackout: the recording differs from the one without a fault"
    expect_same_as_file "$F" "$got" "mmsu after a blackout"
  fi

  # 5. The same blackout with Fast Start: the server sends the whole file
  #    within it. However mmssrc recovers (resends, a new play from the first
  #    lost packet, or a reconnect), every frame arrives.
  start_relay "${PORT[$scheme]}" --udp --udp-blackout-after 40 --udp-blackout-seconds 5
  got="$T/blackout-fast-$scheme.asf"
  record "$scheme://127.0.0.1:$RELAY_PORT/$F" "$got" timeout=2 retries=3 retry-delay-max=1
  grep -q 'udp: blackout after 40 datagrams for 5 s' "$RELAY_LOG" || fail "$scheme blackout with Fast Start: the relay blacked nothing out"
  log "$scheme blackout with Fast Start: $(fault_line 'udp: blackout after'); $(summary); $(reconnects "$got.log") reconnect(s)"
  same_frames "$got" "$scheme after a 5 s blackout with Fast Start"
done
log "PASS"
