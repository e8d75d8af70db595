// x-asf-pf: RTP header codec, payload -> depayload round trips over every
// packet of the test media (whole, fragmented at small MTUs, grouped), both
// readings of the length field, loss -> discont, reorder, re-padding.
#include "protocol/rtsp/asf_rtp.h"

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/asf/header_parser.h"
#include "protocol/asf/packet.h"

namespace mms::rtsp {
namespace {

using Bytes = std::vector<std::uint8_t>;
using RtpPackets = std::vector<Bytes>;

struct Media {
  std::uint32_t packet_size = 0;
  std::vector<Bytes> packets;  // as a server sends them: padding stripped where safe
};

Media load(const std::string& rel) {
  std::ifstream f(std::string(MMS_SOURCE_ROOT) + "/tests/media/" + rel, std::ios::binary);
  const Bytes file((std::istreambuf_iterator<char>(f)), {});
  auto layout = asf::scan_file(file);
  EXPECT_TRUE(layout.ok()) << rel;
  Media m;
  if (!layout.ok()) {
    return m;
  }
  m.packet_size = layout->info.packet_size;
  for (std::uint64_t i = 0; i < layout->packet_count; ++i) {
    const ByteView p =
        ByteView(file).subview(layout->first_packet + i * m.packet_size, m.packet_size);
    Bytes out;
    if (asf::padding_strippable(p, m.packet_size) &&
        asf::strip_padding(p, m.packet_size, &out).ok()) {
      m.packets.push_back(out);
    } else {
      m.packets.push_back(p.to_vector());
    }
  }
  return m;
}

const char* const kMedia[] = {"fixtures/small.asf", "fixtures/mbr.asf", "real/taglib-silence-1.wma",
                              "real/taglib-lossless.wma"};

RtpPackets payload_all(const Media& m, PayloaderConfig cfg) {
  AsfPayloader pay(cfg);
  RtpPackets rtp;
  for (const Bytes& p : m.packets) {
    EXPECT_TRUE(pay.push_parsed(p, m.packet_size, &rtp).ok());
  }
  pay.flush(&rtp);
  return rtp;
}

std::vector<DepayPacket> depay_all(const RtpPackets& rtp, std::uint32_t maxps,
                                   AsfDepayloader* d = nullptr) {
  AsfDepayloader local(maxps);
  if (d == nullptr) {
    d = &local;
  }
  std::vector<DepayPacket> out;
  for (const Bytes& r : rtp) {
    EXPECT_TRUE(d->push(r, &out).ok());
  }
  return out;
}

TEST(Rtp, HeaderRoundTripAndExtensions) {
  RtpHeader h;
  h.marker = true;
  h.payload_type = 96;
  h.seq = 0x1234;
  h.timestamp = 3000;
  h.ssrc = 0x2f3c9a11;
  Bytes b;
  write_rtp_header(h, &b);
  EXPECT_EQ(b, (Bytes{0x80, 0xe0, 0x12, 0x34, 0, 0, 0x0b, 0xb8, 0x2f, 0x3c, 0x9a, 0x11}));
  b.push_back(0xaa);
  auto p = parse_rtp(b);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->marker);
  EXPECT_EQ(p->seq, 0x1234);
  EXPECT_EQ(p->payload.size(), 1u);
  // CSRC count 1, extension of one word, 2 bytes of padding.
  Bytes x = {0xb1, 0x60, 0,    1,    0, 0, 0, 0, 0, 0, 0,    0, 9, 9,
             9,    9,    0xbe, 0xde, 0, 1, 7, 7, 7, 7, 0x55, 0, 2};
  auto q = parse_rtp(x);
  ASSERT_TRUE(q.ok()) << q.status().what();
  ASSERT_EQ(q->payload.size(), 1u);
  EXPECT_EQ(q->payload[0], 0x55);
  EXPECT_FALSE(parse_rtp(Bytes{0x80, 0x60, 0}).ok());
  EXPECT_FALSE(parse_rtp(Bytes(12, 0)).ok());  // version 0
  Bytes rtcp = {0x80, 200, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_TRUE(is_rtcp(rtcp));
  EXPECT_FALSE(parse_rtp(rtcp).ok());
  Bytes badpad = {0xa0, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 5};
  EXPECT_FALSE(parse_rtp(badpad).ok());
}

TEST(AsfRtp, PayloadHeaderOptionalFields) {
  const Bytes b = {0xb8, 0x00, 0x05, 0x64, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 100, 0, 0, 0, 7};
  AsfPfHeader h;
  ASSERT_TRUE(parse_asf_pf_header(b, &h));
  EXPECT_EQ(h.flags, 0xb8);
  EXPECT_EQ(h.field, 0x564u);
  EXPECT_EQ(h.relative_time, -2);
  EXPECT_EQ(h.duration, 100u);
  EXPECT_EQ(h.location_id, 7u);
  EXPECT_EQ(h.size, 16u);
  EXPECT_FALSE(parse_asf_pf_header(ByteView(b.data(), 15), &h));
}

TEST(AsfRtp, RoundTripEveryPacketAtSeveralMtus) {
  for (const char* name : kMedia) {
    const Media m = load(name);
    ASSERT_FALSE(m.packets.empty()) << name;
    for (std::size_t mtu : {64u, 200u, 577u, 1400u, 9000u, 65535u}) {
      for (bool group : {false, true}) {
        SCOPED_TRACE(std::string(name) + " mtu " + std::to_string(mtu) + (group ? " grouped" : ""));
        PayloaderConfig cfg;
        cfg.mtu = mtu;
        cfg.group = group;
        cfg.ssrc = 0x1234;
        cfg.first_seq = 65530;  // wraps
        cfg.timestamp_offset = 1000;
        const RtpPackets rtp = payload_all(m, cfg);
        for (const Bytes& r : rtp) {
          EXPECT_LE(r.size(), mtu);
        }
        AsfDepayloader d(m.packet_size);
        const std::vector<DepayPacket> out = depay_all(rtp, m.packet_size, &d);
        ASSERT_EQ(out.size(), m.packets.size());
        for (std::size_t i = 0; i < out.size(); ++i) {
          EXPECT_EQ(out[i].data, m.packets[i]) << "packet " << i;
          EXPECT_FALSE(out[i].discont);
          auto info = asf::parse_packet(m.packets[i], m.packet_size);
          ASSERT_TRUE(info.ok());
          EXPECT_EQ(out[i].keyframe, info->any_keyframe);
          // Re-padded, it parses as a full packet again.
          Bytes padded(m.packet_size);
          ASSERT_TRUE(asf::pad_packet(out[i].data, m.packet_size, padded.data()).ok());
          auto again = asf::parse_packet(padded, m.packet_size);
          ASSERT_TRUE(again.ok());
          EXPECT_EQ(again->payloads.size(), info->payloads.size());
        }
        EXPECT_EQ(d.stats().lost, 0u);
        EXPECT_EQ(d.stats().malformed, 0u);
        EXPECT_EQ(d.stats().dropped_partial, 0u);
        if (group && mtu >= 2 * (m.packet_size + 4) + kRtpHeaderSize) {
          EXPECT_LT(rtp.size(), m.packets.size());
        }
        if (mtu < m.packet_size) {
          EXPECT_GT(rtp.size(), m.packets.size());
        }
      }
    }
  }
}

TEST(AsfRtp, TimestampsMarkerAndSequence) {
  const Media m = load("fixtures/small.asf");
  PayloaderConfig cfg;
  cfg.mtu = 400;  // 1000-byte packets (some stripped) -> fragments
  cfg.first_seq = 10;
  cfg.timestamp_offset = 5;
  const RtpPackets rtp = payload_all(m, cfg);
  std::uint16_t seq = 10;
  for (const Bytes& r : rtp) {
    auto h = parse_rtp(r);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->seq, seq++);
    EXPECT_EQ(h->payload_type, 96);
    AsfPfHeader ph;
    ASSERT_TRUE(parse_asf_pf_header(h->payload, &ph));
    if ((ph.flags & kAsfPfLength) != 0) {
      EXPECT_TRUE(h->marker);
      EXPECT_EQ(ph.field, h->payload.size());  // WMS way: counts the 4-byte header
    }
  }
  auto first = parse_rtp(rtp[0]);
  auto info = asf::parse_packet(m.packets[0], m.packet_size);
  EXPECT_EQ(first->timestamp, info->send_time_ms + 5);
}

// Builds an RTP packet by hand.
Bytes rtp_packet(std::uint16_t seq, bool marker, const Bytes& payload) {
  RtpHeader h;
  h.seq = seq;
  h.marker = marker;
  h.payload_type = 96;
  Bytes b;
  write_rtp_header(h, &b);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

TEST(AsfRtp, BothLengthReadingsWithSeveralPacketsPerRtpPacket) {
  const Bytes a = {0x82, 0, 0, 0x11, 0x5d, 1, 2, 3};
  const Bytes b = {0x82, 0, 0, 0x01, 0x5d};
  for (bool with_header : {true, false}) {
    Bytes payload;
    for (const Bytes* p : {&a, &b}) {
      const std::size_t len = p->size() + (with_header ? 4 : 0);
      payload.insert(payload.end(), {0x40, 0, 0, static_cast<std::uint8_t>(len)});
      payload.insert(payload.end(), p->begin(), p->end());
    }
    AsfDepayloader d(100);
    std::vector<DepayPacket> out;
    ASSERT_TRUE(d.push(rtp_packet(1, true, payload), &out).ok());
    ASSERT_EQ(out.size(), 2u) << with_header;
    EXPECT_EQ(out[0].data, a);
    EXPECT_EQ(out[1].data, b);
    EXPECT_EQ(with_header ? d.stats().length_with_header : d.stats().length_without_header, 2u);
  }
}

TEST(AsfRtp, GstreamerStyleFragmentsWithRelativeTimestamp) {
  // rtpasfpay: flags 0x20 (R), offsets 0 / 5, M on the last fragment.
  const Bytes f1 = {0x20, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5};
  const Bytes f2 = {0x20, 0, 0, 5, 0, 0, 0, 0, 6, 7};
  AsfDepayloader d(3200);
  std::vector<DepayPacket> out;
  ASSERT_TRUE(d.push(rtp_packet(7, false, f1), &out).ok());
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(d.push(rtp_packet(8, true, f2), &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, (Bytes{1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(out[0].seq, 8);
  // Single packet with the spec length (GStreamer): field = packet size.
  ASSERT_TRUE(d.push(rtp_packet(9, true, Bytes{0x60, 0, 0, 2, 0, 0, 0, 0, 9, 9}), &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].data, (Bytes{9, 9}));
}

TEST(AsfRtp, LossDropsPartialAndFlagsDiscont) {
  const Media m = load("fixtures/small.asf");
  PayloaderConfig cfg;
  cfg.mtu = 300;
  const RtpPackets rtp = payload_all(m, cfg);
  ASSERT_GT(rtp.size(), m.packets.size() + 4);
  // Drop the second RTP packet: a fragment of packet 0.
  RtpPackets lossy = rtp;
  lossy.erase(lossy.begin() + 1);
  AsfDepayloader d(m.packet_size);
  const std::vector<DepayPacket> out = depay_all(lossy, m.packet_size, &d);
  ASSERT_EQ(out.size(), m.packets.size() - 1);
  EXPECT_TRUE(out[0].discont);
  EXPECT_EQ(out[0].data, m.packets[1]);
  for (std::size_t i = 1; i < out.size(); ++i) {
    EXPECT_FALSE(out[i].discont);
    EXPECT_EQ(out[i].data, m.packets[i + 1]);
  }
  EXPECT_EQ(d.stats().lost, 1u);
  EXPECT_GE(d.stats().dropped_partial + d.stats().malformed, 0u);
}

TEST(AsfRtp, ReorderedPacketIsDroppedAsLate) {
  const Media m = load("fixtures/small.asf");
  PayloaderConfig cfg;  // one RTP packet per ASF packet
  const RtpPackets rtp = payload_all(m, cfg);
  ASSERT_EQ(rtp.size(), m.packets.size());
  RtpPackets swapped = rtp;
  std::swap(swapped[3], swapped[4]);
  AsfDepayloader d(m.packet_size);
  const std::vector<DepayPacket> out = depay_all(swapped, m.packet_size, &d);
  // 4 arrives early (3 counted lost, discont), 3 arrives late and is dropped.
  ASSERT_EQ(out.size(), m.packets.size() - 1);
  EXPECT_EQ(out[3].data, m.packets[4]);
  EXPECT_TRUE(out[3].discont);
  EXPECT_EQ(out[4].data, m.packets[5]);
  EXPECT_FALSE(out[4].discont);
  EXPECT_EQ(d.stats().late, 1u);
  EXPECT_EQ(d.stats().lost, 1u);
}

TEST(AsfRtp, ResetAndExpectSeq) {
  const Media m = load("fixtures/small.asf");
  const RtpPackets rtp = payload_all(m, PayloaderConfig{});
  AsfDepayloader d(m.packet_size);
  std::vector<DepayPacket> out;
  ASSERT_TRUE(d.push(rtp[0], &out).ok());
  d.reset();
  d.expect_seq(5);
  ASSERT_TRUE(d.push(rtp[2], &out).ok());  // seq 2 < 5: late
  ASSERT_TRUE(d.push(rtp[5], &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FALSE(out[0].discont);
  EXPECT_TRUE(out[1].discont);
  EXPECT_EQ(out[1].data, m.packets[5]);
  EXPECT_EQ(d.stats().late, 1u);
  EXPECT_EQ(d.stats().lost, 0u);
}

TEST(AsfRtp, BadPayloadsAreCountedNotFatal) {
  AsfDepayloader d(8);
  std::vector<DepayPacket> out;
  EXPECT_FALSE(d.push(Bytes{1, 2, 3}, &out).ok());                               // not RTP
  ASSERT_TRUE(d.push(rtp_packet(1, true, Bytes{0x40, 0}), &out).ok());           // short header
  ASSERT_TRUE(d.push(rtp_packet(2, true, Bytes{0x00, 0, 0, 4, 1}), &out).ok());  // offset 4 first
  ASSERT_TRUE(d.push(rtp_packet(3, true, Bytes(20, 0x40)), &out).ok());          // unit > maxps
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(d.push(rtp_packet(4, true, Bytes{0x40, 0, 0, 5, 0xaa}), &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].discont);
  EXPECT_GE(d.stats().malformed + d.stats().oversized, 2u);
}

TEST(AsfRtp, PayloaderRejectsMisuse) {
  AsfPayloader p(PayloaderConfig{});
  RtpPackets out;
  EXPECT_EQ(p.push(ByteView(), 0, false, &out).code(), Code::kLocalMisuse);
  EXPECT_EQ(p.push_parsed(Bytes{0xff}, 100, &out).code(), Code::kMalformed);
}

}  // namespace
}  // namespace mms::rtsp
