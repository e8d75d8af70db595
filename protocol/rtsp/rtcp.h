// RTCP (RFC 3550 6): the compound-packet walker, and receiver reports (6.4.2):
// what a client tells the sender of each stream about what it received, and
// what the sender reads from them. The gst-mms client sends them over UDP;
// the reference server's fast mode paces on them (data in flight is bounded
// by the reported sequence).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "protocol/core/bytes.h"
#include "protocol/core/status.h"

namespace mms::rtsp {

constexpr std::uint8_t kRtcpSenderReport = 200;
constexpr std::uint8_t kRtcpReceiverReport = 201;
constexpr std::uint8_t kRtcpSdes = 202;
constexpr std::uint8_t kRtcpBye = 203;
// Report blocks in one RR packet (the 5-bit count).
constexpr std::size_t kMaxReportBlocks = 31;

struct ReportBlock {
  std::uint32_t ssrc = 0;            // the source reported on
  std::uint8_t fraction_lost = 0;    // since the last report, in 1/256
  std::int32_t cumulative_lost = 0;  // 24 bits signed (negative: duplicates)
  std::uint32_t highest_seq = 0;     // extended highest sequence number received
  std::uint32_t jitter = 0;
  std::uint32_t last_sr = 0;
  std::uint32_t delay_since_last_sr = 0;
};

// Walks a compound RTCP packet (RFC 3550 6.1), calling on_packet(p, len) for
// each packet in it (len includes its 4-byte header). Stops at the first
// packet that is not RTCP version 2 or whose length runs past the input;
// returns how many packets were walked.
template <typename OnPacket>
std::size_t for_each_rtcp(ByteView packet, OnPacket on_packet) {
  std::size_t pos = 0;
  std::size_t n = 0;
  while (packet.size() - pos >= 4) {
    const std::uint8_t* p = packet.data() + pos;
    const std::size_t len = (std::size_t{p[2]} << 8 | p[3]) * 4 + 4;
    // RTCP packet types are 192..223 (RFC 5761 4): RTP on the same port is not.
    if ((p[0] >> 6) != 2 || p[1] < 192 || p[1] > 223 || len > packet.size() - pos) {
      break;
    }
    on_packet(p, len);
    pos += len;
    ++n;
  }
  return n;
}

// Appends an RTCP SDES packet with one chunk: `ssrc`'s CNAME (RFC 3550 6.5;
// `cname` is cut at 255 bytes).
void append_rtcp_cname(std::uint32_t ssrc, std::string_view cname, std::vector<std::uint8_t>* out);

// Appends a compound packet: RR from `sender_ssrc` with the first
// kMaxReportBlocks blocks, then SDES with its CNAME (RFC 3550 6.1 wants one
// in every compound packet; `cname` is cut at 255 bytes).
void write_receiver_report(std::uint32_t sender_ssrc, const std::vector<ReportBlock>& blocks,
                           std::string_view cname, std::vector<std::uint8_t>* out);

// The report blocks of every SR and RR in a compound packet, in order, until
// the first packet that is not RTCP version 2 or runs past the input
// (kMalformed when that is the first one).
Status parse_report_blocks(ByteView packet, std::vector<ReportBlock>* out);

}  // namespace mms::rtsp
