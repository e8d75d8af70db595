// RTCP receiver reports: write -> parse round trip, SR blocks, bounds.
#include "protocol/rtsp/rtcp.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/rtsp/asf_rtp.h"

namespace mms::rtsp {
namespace {

using Bytes = std::vector<std::uint8_t>;

TEST(Rtcp, ReceiverReportRoundTrips) {
  ReportBlock a;
  a.ssrc = 0x11223344;
  a.fraction_lost = 12;
  a.cumulative_lost = 77;
  a.highest_seq = 0x0001FFFE;
  ReportBlock b;
  b.ssrc = 0xCAFEF00D;
  b.highest_seq = 5;
  Bytes out;
  write_receiver_report(0xABCDEF01, {a, b}, "gst-mms", &out);
  ASSERT_EQ(out.size() % 4, 0u);
  EXPECT_EQ(out[0], 0x82);  // V=2, RC=2
  EXPECT_EQ(out[1], kRtcpReceiverReport);
  EXPECT_EQ(out[2] << 8 | out[3], 1 + 2 * 6);  // words - 1
  EXPECT_EQ(out[8 + 2 * 24 + 1], kRtcpSdes);   // SDES follows
  EXPECT_TRUE(is_rtcp(ByteView(out.data(), out.size())));
  std::vector<ReportBlock> got;
  ASSERT_TRUE(parse_report_blocks(ByteView(out.data(), out.size()), &got).ok());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].ssrc, a.ssrc);
  EXPECT_EQ(got[0].fraction_lost, 12);
  EXPECT_EQ(got[0].cumulative_lost, 77);
  EXPECT_EQ(got[0].highest_seq, 0x0001FFFEu);
  EXPECT_EQ(got[1].ssrc, b.ssrc);
  EXPECT_EQ(got[1].highest_seq, 5u);
}

TEST(Rtcp, SenderReportBlocksAreReadAfterTheSenderInfo) {
  Bytes sr = {0x81, kRtcpSenderReport, 0, 12, 0, 0, 0, 9};  // 1 block, 13 words
  sr.resize(8 + 20, 0);                                     // sender info
  const Bytes block = {0, 0, 0, 7, 0, 0, 0, 3, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  sr.insert(sr.end(), block.begin(), block.end());
  std::vector<ReportBlock> got;
  ASSERT_TRUE(parse_report_blocks(ByteView(sr.data(), sr.size()), &got).ok());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].ssrc, 7u);
  EXPECT_EQ(got[0].cumulative_lost, 3);
  EXPECT_EQ(got[0].highest_seq, 256u);
}

TEST(Rtcp, MalformedAndTruncatedInput) {
  std::vector<ReportBlock> got;
  const Bytes rtp = {0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_FALSE(parse_report_blocks(ByteView(rtp.data(), rtp.size()), &got).ok());
  // An RR claiming two blocks in a packet long enough for one: one block.
  Bytes rr = {0x82, kRtcpReceiverReport, 0, 7, 0, 0, 0, 1};
  rr.resize(8 + 24, 0);
  EXPECT_TRUE(parse_report_blocks(ByteView(rr.data(), rr.size()), &got).ok());
  EXPECT_EQ(got.size(), 1u);
  // A length running past the datagram: nothing read.
  got.clear();
  rr[3] = 40;
  EXPECT_FALSE(parse_report_blocks(ByteView(rr.data(), rr.size()), &got).ok());
  EXPECT_TRUE(got.empty());
  // A negative cumulative loss (more duplicates than losses) is read signed.
  rr[3] = 7;
  rr[13] = 0xFF;
  rr[14] = 0xFF;
  rr[15] = 0xFE;
  got.clear();
  ASSERT_TRUE(parse_report_blocks(ByteView(rr.data(), rr.size()), &got).ok());
  EXPECT_EQ(got[0].cumulative_lost, -2);
  // Written: the loss is clamped to 24 bits signed, blocks beyond 31 are left out.
  std::vector<ReportBlock> many(40);
  many[0].cumulative_lost = INT32_MAX;
  many[1].cumulative_lost = -5;
  many[2].cumulative_lost = INT32_MIN;
  Bytes out;
  write_receiver_report(1, many, std::string(300, 'x'), &out);
  got.clear();
  ASSERT_TRUE(parse_report_blocks(ByteView(out.data(), out.size()), &got).ok());
  EXPECT_EQ(got.size(), kMaxReportBlocks);
  EXPECT_EQ(got[0].cumulative_lost, 0x7FFFFF);
  EXPECT_EQ(got[1].cumulative_lost, -5);
  EXPECT_EQ(got[2].cumulative_lost, -0x800000);
}

}  // namespace
}  // namespace mms::rtsp
