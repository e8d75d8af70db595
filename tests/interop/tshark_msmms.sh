#!/usr/bin/env bash
# Wireshark's MSMMS dissector (an independent MS-MMSP decoder) on a capture of
# mmssrc playing from mms-server over MMS/TCP.
#
# tshark captures loopback traffic on the server's MMS port while
#   gst-launch-1.0 mmssrc location=mmst://127.0.0.1:PORT/av-wmv2-wma2-10s.asf ! fakesink
# runs.  Decoded with `-d tcp.port==PORT,msmms`, the capture must show the
# commands of both directions (client: Connect, FunnelInfo, ConnectFunnel,
# OpenFile, ReadBlock, StreamSwitch, StartPlaying, Logging; server:
# ReportConnectedEX, ReportFunnelInfo, ReportConnectedFunnel, ReportOpenFile,
# ReportReadBlock, ReportStartedPlaying; Data packets), and no MSMMS frame may
# be malformed or carry an expert warning or error.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need tshark gst-launch-1.0
ensure_media
gst_env
start_server --fast
MMS_PORT=$(sed -n 's/.* mms=\([0-9][0-9]*\).*/\1/p' "$T/server.out" | head -n1)
[[ -n "$MMS_PORT" ]] || fail "mms-server printed no mms= port"

# tshark may drop privileges to write: let anyone write the capture.
chmod 777 "$T"
CAP="$T/cap.pcap"
tshark -i lo -f "tcp port $MMS_PORT" -F pcap -w "$CAP" >"$T/tshark-capture.log" 2>&1 &
_pids+=($!)
TSHARK_PID=$!
for ((i = 0; i < 300; i++)); do
  grep -q "Capturing on" "$T/tshark-capture.log" && break
  kill -0 "$TSHARK_PID" 2>/dev/null || {
    if grep -qiE "permission|not permitted|don't have permission" "$T/tshark-capture.log"; then
      skip "tshark may not capture on lo here: $(head -c 200 "$T/tshark-capture.log")"
    fi
    fail "tshark exited before capturing: $(head -c 300 "$T/tshark-capture.log")"
  }
  sleep 0.1
done
grep -q "Capturing on" "$T/tshark-capture.log" || fail "tshark did not start capturing within 30 s"
log "tshark capturing on lo, tcp port $MMS_PORT"

f=av-wmv2-wma2-10s.asf
run "$CMD_TIMEOUT" "${GST_RUN[@]}" gst-launch-1.0 -q mmssrc location="mmst://127.0.0.1:$MMS_PORT/$f" ! fakesink \
  >"$T/gst.log" 2>&1 || fail "gst-launch-1.0 failed (exit $?)"
log "mmssrc played mmst://127.0.0.1:$MMS_PORT/$f"

# Let the last segments (close) reach the capture, then stop tshark and wait
# for it to flush the file.
sleep 1
kill -INT "$TSHARK_PID" 2>/dev/null || true
for ((i = 0; i < 100; i++)); do
  kill -0 "$TSHARK_PID" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$TSHARK_PID" 2>/dev/null && fail "tshark did not stop within 10 s"
[[ -s "$CAP" ]] || fail "empty capture"

DEC=(tshark -r "$CAP" -d "tcp.port==$MMS_PORT,msmms")
run "$CMD_TIMEOUT" "${DEC[@]}" -Y msmms -T fields -e _ws.col.Info >"$T/info.txt" 2>"$T/tshark-decode.log" ||
  fail "tshark cannot decode the capture"
frames=$(wc -l <"$T/info.txt")
log "$frames MSMMS frames; commands seen:"
grep -o -- '\(-->\|<--\) [A-Za-z][A-Za-z /()-]*' "$T/info.txt" | sed 's/ *$//' | sort | uniq -c | sed 's/^/    /'
[[ $frames -gt 0 ]] || fail "no MSMMS frame in the capture"

# Commands expected in each direction, by Wireshark's names (MS-MMSP names in
# brackets).  The dissector decodes only the first MMS message of each TCP
# segment and loses the message boundaries inside a run of Data packets, so a
# message that shares a segment with Data packets (ReportEndOfStream after a
# fast transfer) is not shown; every message checked here starts a segment,
# because its sender waits for the peer before it (or the peer waits for it).
expect() {
  local what=$1
  grep -qF -- "$what" "$T/info.txt" || fail "no \"$what\" in the MSMMS decode"
}
expect "--> Connect info (NSPlayer/"          # LinkViewerToMacConnect
expect "--> Timing test data request"         # LinkViewerToMacFunnelInfo
expect "--> Transport info ("                 # LinkViewerToMacConnectFunnel
expect "--> Request server file ($f)"         # LinkViewerToMacOpenFile
expect "--> Header request"                   # LinkViewerToMacReadBlock
expect "--> Media Stream MBR selector"        # LinkViewerToMacStreamSwitch
expect "--> Start sending from"               # LinkViewerToMacStartPlaying
expect "--> Local computer details"           # LinkViewerToMacLogging
expect "<-- Server info"                      # LinkMacToViewerReportConnectedEX
expect "<-- Timing test data response"        # LinkMacToViewerReportFunnelInfo
expect "<-- Transport info ack"               # LinkMacToViewerReportConnectedFunnel
expect "<-- Media details"                    # LinkMacToViewerReportOpenFile
expect "<-- Sending header response"          # LinkMacToViewerReportReadBlock
expect "<-- Sending media file now"           # LinkMacToViewerReportStartedPlaying
expect "Data: seq="                           # ASF Data packets (TcpDataPacket header)
log "commands of both directions present"

# Malformed MSMMS frames, and expert items of severity warning or error that
# the MSMMS dissector raised (TCP's own notes about loopback window sizes or
# duplicated segments are not about our encoding).
run "$CMD_TIMEOUT" "${DEC[@]}" -Y 'msmms && _ws.malformed' -T fields -e frame.number -e _ws.col.Info \
  >"$T/malformed.txt" 2>>"$T/tshark-decode.log" || fail "tshark rejected the _ws.malformed filter"
if [[ -s "$T/malformed.txt" ]]; then
  head -n 20 "$T/malformed.txt" >&2
  fail "$(wc -l <"$T/malformed.txt") MSMMS frames are malformed"
fi
run "$CMD_TIMEOUT" "${DEC[@]}" -q -z expert,warn >"$T/expert.txt" 2>>"$T/tshark-decode.log" ||
  fail "tshark cannot list expert items"
if awk '$3 ~ /^(MSMMS|Malformed)$/ || $4 ~ /^(MSMMS|Malformed)$/' "$T/expert.txt" | grep -q .; then
  cat "$T/expert.txt" >&2
  fail "the MSMMS dissector raised warnings or errors"
fi
log "expert items (warning and above): $(grep -cE '^ +[0-9]+ ' "$T/expert.txt" || true) groups, none from MSMMS"
log "no malformed MSMMS frame, no expert warning"
log "PASS"
