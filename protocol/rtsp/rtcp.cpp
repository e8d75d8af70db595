// RTCP receiver report codec (see rtcp.h).
#include "protocol/rtsp/rtcp.h"

#include <algorithm>

#include "protocol/core/byte_writer.h"

namespace mms::rtsp {
namespace {

constexpr std::size_t kBlockSize = 24;

void write_block(const ReportBlock& b, ByteWriter* w) {
  w->u32be(b.ssrc);
  const std::int32_t lost =
      std::max<std::int32_t>(-0x800000, std::min(b.cumulative_lost, 0x7FFFFF));
  w->u32be(static_cast<std::uint32_t>(b.fraction_lost) << 24 |
           (static_cast<std::uint32_t>(lost) & 0xFFFFFFu));
  w->u32be(b.highest_seq);
  w->u32be(b.jitter);
  w->u32be(b.last_sr);
  w->u32be(b.delay_since_last_sr);
}

ReportBlock read_block(const std::uint8_t* p) {
  auto u32 = [p](std::size_t at) {
    return static_cast<std::uint32_t>(p[at]) << 24 | static_cast<std::uint32_t>(p[at + 1]) << 16 |
           static_cast<std::uint32_t>(p[at + 2]) << 8 | p[at + 3];
  };
  ReportBlock b;
  b.ssrc = u32(0);
  b.fraction_lost = p[4];
  const std::uint32_t lost = u32(4) & 0xFFFFFFu;
  b.cumulative_lost = (lost & 0x800000u) != 0 ? static_cast<std::int32_t>(lost) - 0x1000000
                                              : static_cast<std::int32_t>(lost);
  b.highest_seq = u32(8);
  b.jitter = u32(12);
  b.last_sr = u32(16);
  b.delay_since_last_sr = u32(20);
  return b;
}

}  // namespace

void write_receiver_report(std::uint32_t sender_ssrc, const std::vector<ReportBlock>& blocks,
                           std::string_view cname, std::vector<std::uint8_t>* out) {
  ByteWriter w(out);
  const std::size_t n = std::min(blocks.size(), kMaxReportBlocks);
  w.u8(static_cast<std::uint8_t>(0x80u | n));  // V=2, P=0, RC
  w.u8(kRtcpReceiverReport);
  w.u16be(static_cast<std::uint16_t>(1 + n * kBlockSize / 4));  // 32-bit words - 1
  w.u32be(sender_ssrc);
  for (std::size_t i = 0; i < n; ++i) {
    write_block(blocks[i], &w);
  }
  append_rtcp_cname(sender_ssrc, cname, out);
}

void append_rtcp_cname(std::uint32_t ssrc, std::string_view cname, std::vector<std::uint8_t>* out) {
  cname = cname.substr(0, 255);
  const std::size_t chunk = 4 + 2 + cname.size() + 1;  // SSRC, CNAME item, END
  const std::size_t padded = (chunk + 3) / 4 * 4;
  ByteWriter w(out);
  w.u8(0x81);  // V=2, SC=1
  w.u8(kRtcpSdes);
  w.u16be(static_cast<std::uint16_t>(padded / 4));  // packet words - 1
  w.u32be(ssrc);
  w.u8(1);  // CNAME
  w.u8(static_cast<std::uint8_t>(cname.size()));
  w.str(cname);
  w.zeros(padded - chunk + 1);  // END and padding
}

Status parse_report_blocks(ByteView packet, std::vector<ReportBlock>* out) {
  const std::size_t walked = for_each_rtcp(packet, [&](const std::uint8_t* p, std::size_t len) {
    const std::size_t count = p[0] & 0x1Fu;
    // After the sender's SSRC: an SR carries 20 bytes of sender info first.
    const std::size_t first = p[1] == kRtcpSenderReport ? 28 : 8;
    if (p[1] == kRtcpSenderReport || p[1] == kRtcpReceiverReport) {
      for (std::size_t i = 0; i < count && first + (i + 1) * kBlockSize <= len; ++i) {
        out->push_back(read_block(p + first + i * kBlockSize));
      }
    }
  });
  if (walked == 0) {
    return Status(Code::kMalformed, "rtcp: not an RTCP packet");
  }
  return Status::Ok();
}

}  // namespace mms::rtsp
