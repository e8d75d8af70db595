#!/usr/bin/env bash
# Packet pair on a real, shaped link: mms-server in a network namespace of its
# own, behind a veth pair whose server-to-client direction is a token bucket
# (tc tbf) of 250 kbit/s with a burst of about one packet. mmssrc measures the
# link with the packet-pair probe of MMSH ($P), MMS/TCP (padded
# ReportFunnelInfo) and MMS/UDP (two UDP Data packets), reports it (the
# mms-bandwidth element message), and from the multi-bitrate file (300k and
# 100k video excluding each other, 64k audio) receives what fits: the 100k
# video and the audio, packet for packet equal to the file's, the 300k video
# absent. Unshaped, the same link gets the 300k video.
# Needs root (ip netns); exits 77 when namespaces cannot be created.
source "$(dirname "${BASH_SOURCE[0]}")/../interop/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need ip tc gst-launch-1.0 python3
ensure_media
gst_env
netns_setup

F=mbr-sbp-mutex-10s.asf
# bandwidth_of LOG: the estimate of the mms-bandwidth message (bit/s).
bandwidth_of() {
  sed -n 's/.*mms-bandwidth, bandwidth=(guint64)\([0-9]*\), transport=(string)\([a-z]*\).*/\1/p' \
    "$1" | head -n1
}

# Real time (not --fast): the selected streams (about 170 kbit/s) fit the link.
serve_in_ns paced
ip netns exec "$NS" tc qdisc add dev "$VB" root tbf rate 250kbit burst 1600 latency 2s
for scheme in mmsh mmst mmsu; do
  got="$T/shaped-$scheme.asf"
  record_via "$scheme://$SERVER_IP:$NS_PORT/$F" "$got" fast-start=false
  bw=$(bandwidth_of "$got.log")
  [[ -n $bw ]] || fail "$scheme: no mms-bandwidth message"
  log "$scheme over the 250 kbit/s link: packet pair measured $bw bit/s"
  [[ $bw -gt 0 ]] || fail "$scheme: the shaped link was too fast to measure"
  expect_asf_streams "$F" "$got" "2 3" "$scheme over the 250 kbit/s link ($bw bit/s)"
done
ip netns exec "$NS" tc qdisc del dev "$VB" root

# Unshaped: the best video.
got="$T/unshaped-mmsh.asf"
record_via "mmsh://$SERVER_IP:$NS_PORT/$F" "$got" fast-start=false
log "mmsh over the unshaped link: packet pair measured $(bandwidth_of "$got.log") bit/s"
expect_asf_streams "$F" "$got" "1 3" "mmsh over the unshaped link"
log "PASS"
