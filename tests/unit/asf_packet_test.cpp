#include <cstdint>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/asf/header_parser.h"
#include "protocol/asf/packet.h"
#include "protocol/core/byte_reader.h"
#include "protocol/core/byte_writer.h"

namespace mms::asf {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes read_media(const std::string& rel) {
  std::ifstream f(std::string(MMS_SOURCE_ROOT) + "/tests/media/" + rel, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

struct MediaPackets {
  HeaderInfo info;
  std::vector<Bytes> packets;
};

MediaPackets load_packets(const std::string& rel) {
  MediaPackets out;
  Bytes file = read_media(rel);
  auto layout = scan_file(file);
  EXPECT_TRUE(layout.ok()) << rel;
  if (!layout.ok()) {
    return out;
  }
  out.info = layout->info;
  const std::size_t ps = layout->info.packet_size;
  for (std::uint64_t k = 0; k < layout->packet_count; ++k) {
    auto begin = file.begin() + static_cast<std::ptrdiff_t>(layout->first_packet + k * ps);
    out.packets.emplace_back(begin, begin + static_cast<std::ptrdiff_t>(ps));
  }
  return out;
}

const char* const kMedia[] = {"real/taglib-silence-1.wma", "real/taglib-lossless.wma",
                              "fixtures/small.asf", "fixtures/mbr.asf"};

// Payload identity: stream, object, offset and the data bytes.
struct PayloadKey {
  std::uint8_t stream;
  bool key;
  std::uint32_t object;
  std::uint32_t offset;
  std::uint32_t pts;
  Bytes data;
  bool operator==(const PayloadKey& o) const {
    return stream == o.stream && key == o.key && object == o.object && offset == o.offset &&
           pts == o.pts && data == o.data;
  }
};

std::vector<PayloadKey> payloads_of(const Bytes& packet, const PacketInfo& info) {
  std::vector<PayloadKey> out;
  for (const PayloadInfo& p : info.payloads) {
    out.push_back(PayloadKey{p.stream, p.keyframe, p.object_number, p.object_offset,
                             p.presentation_ms,
                             Bytes(packet.begin() + static_cast<std::ptrdiff_t>(p.data_begin),
                                   packet.begin() + static_cast<std::ptrdiff_t>(p.data_end))});
  }
  return out;
}

// The payload byte count GStreamer's asfdemux (asfpacket.c) derives for a single-payload
// packet of exactly packet_size bytes: size - parsing info - Padding Length, minus the
// implicit padding only when Padding Length is 0 and Packet Length < packet_size.
std::size_t asfdemux_single_payload_len(const Bytes& pkt, const PacketInfo& info,
                                        std::uint32_t packet_size) {
  std::size_t size = pkt.size() - info.payloads_begin;
  size -= info.padding_length;
  if (info.packet_length_width != 0 && info.packet_length != 0 && info.padding_length == 0 &&
      info.packet_length < packet_size) {
    size -= packet_size - info.packet_length;
  }
  const PayloadInfo& p = info.payloads[0];
  return size - (p.data_begin - p.header_begin);
}

// ---------------------------------------------------------------- builders

constexpr std::uint8_t kProp = 0x5D;  // rep BYTE, offset DWORD, object BYTE, stream BYTE

void put_payload_header(ByteWriter* w, std::uint8_t stream, std::uint8_t object,
                        std::uint32_t offset, std::uint32_t obj_size, std::uint32_t pts) {
  w->u8(stream);
  w->u8(object);
  w->u32le(offset);
  w->u8(8);
  w->u32le(obj_size);
  w->u32le(pts);
}

// Single payload, EC block, no Packet Length and no Padding Length field.
Bytes single_no_length_fields(std::size_t data_len) {
  Bytes p;
  ByteWriter w(&p);
  w.u8(0x82);
  w.u16le(0);
  w.u8(0x00);
  w.u8(kProp);
  w.u32le(1234);  // send time
  w.u16le(40);
  put_payload_header(&w, 0x81, 7, 0, static_cast<std::uint32_t>(data_len), 3100);
  for (std::size_t i = 0; i < data_len; ++i) {
    w.u8(static_cast<std::uint8_t>(i * 7 + 1));
  }
  return p;
}

// Multiple payloads (WORD lengths), BYTE padding field, given streams.
Bytes multi(const std::vector<std::uint8_t>& streams, std::uint32_t packet_size) {
  Bytes p;
  ByteWriter w(&p);
  w.u8(0x82);
  w.u16le(0);
  w.u8(0x11);  // multiple payloads, padding WORD
  w.u8(kProp);
  w.u16le(0);  // padding, fixed below
  w.u32le(5000);
  w.u16le(100);
  w.u8(static_cast<std::uint8_t>(0x80 | streams.size()));
  std::uint8_t obj = 0;
  for (std::uint8_t s : streams) {
    const std::size_t len = 10u + s;
    put_payload_header(&w, s, obj++, 0, static_cast<std::uint32_t>(len), 3000u + s);
    w.u16le(static_cast<std::uint16_t>(len));
    for (std::size_t i = 0; i < len; ++i) {
      w.u8(static_cast<std::uint8_t>(s * 16 + i));
    }
  }
  store_u16le(p.data() + 5, static_cast<std::uint16_t>(packet_size - p.size()));
  p.resize(packet_size, 0);
  return p;
}

// ---------------------------------------------------------------- real packets

TEST(AsfPacketReal, ParseEveryPacket) {
  for (const char* name : kMedia) {
    MediaPackets m = load_packets(name);
    ASSERT_FALSE(m.packets.empty()) << name;
    std::uint32_t last_send = 0;
    for (std::size_t k = 0; k < m.packets.size(); ++k) {
      auto r = parse_packet(m.packets[k], m.info.packet_size);
      ASSERT_TRUE(r.ok()) << name << " packet " << k << ": " << r.status().what();
      EXPECT_GE(r->send_time_ms, last_send) << name << " " << k;
      last_send = r->send_time_ms;
      ASSERT_FALSE(r->payloads.empty());
      for (const PayloadInfo& p : r->payloads) {
        EXPECT_NE(m.info.find_stream(p.stream), nullptr) << name << " stream " << int{p.stream};
        EXPECT_LE(p.data_begin, p.data_end);
        EXPECT_LE(p.data_end, r->used_end);
        EXPECT_GE(p.presentation_ms, m.info.preroll_ms);
      }
      EXPECT_LE(r->used_end + r->padding_length, m.info.packet_size);
    }
  }
}

TEST(AsfPacketReal, StripThenPadRoundTripsEveryPacket) {
  for (const char* name : kMedia) {
    MediaPackets m = load_packets(name);
    const std::uint32_t ps = m.info.packet_size;
    for (std::size_t k = 0; k < m.packets.size(); ++k) {
      const Bytes& orig = m.packets[k];
      auto oi = parse_packet(orig, ps);
      ASSERT_TRUE(oi.ok());
      Bytes stripped;
      ASSERT_TRUE(strip_padding(orig, ps, &stripped).ok());
      EXPECT_EQ(stripped.size(), orig.size() - oi->padding_length) << name << " " << k;
      auto si = parse_packet(stripped, ps);
      ASSERT_TRUE(si.ok()) << si.status().what();
      EXPECT_EQ(si->padding_length, 0u);
      EXPECT_EQ(payloads_of(stripped, *si), payloads_of(orig, *oi));

      Bytes padded(ps, 0xEE);
      ASSERT_TRUE(pad_packet(stripped, ps, padded.data()).ok());
      auto pi = parse_packet(padded, ps);
      ASSERT_TRUE(pi.ok()) << pi.status().what();
      EXPECT_EQ(payloads_of(padded, *pi), payloads_of(orig, *oi)) << name << " " << k;
      EXPECT_EQ(pi->send_time_ms, oi->send_time_ms);
      if (!pi->multiple_payloads) {
        EXPECT_EQ(asfdemux_single_payload_len(padded, *pi, ps),
                  oi->payloads[0].data_end - oi->payloads[0].data_begin);
      }
      // Full-size input is copied unchanged.
      Bytes copy(ps, 0);
      ASSERT_TRUE(pad_packet(orig, ps, copy.data()).ok());
      EXPECT_EQ(copy, orig);
    }
  }
}

TEST(AsfPacketReal, FilterMbrPackets) {
  MediaPackets m = load_packets("fixtures/mbr.asf");
  const std::uint32_t ps = m.info.packet_size;
  std::vector<bool> keep(128, false);
  keep[2] = keep[3] = true;
  std::size_t dropped = 0;
  for (const Bytes& pkt : m.packets) {
    auto oi = parse_packet(pkt, ps);
    ASSERT_TRUE(oi.ok());
    Bytes out;
    bool empty = false;
    ASSERT_TRUE(filter_streams(pkt, ps, keep, &out, &empty).ok());
    std::vector<PayloadKey> expect;
    for (const PayloadKey& p : payloads_of(pkt, *oi)) {
      if (p.stream != 1) {
        expect.push_back(p);
      } else {
        ++dropped;
      }
    }
    if (expect.empty()) {
      EXPECT_TRUE(empty);
      continue;
    }
    ASSERT_FALSE(empty);
    ASSERT_EQ(out.size(), ps);
    auto fi = parse_packet(out, ps);
    ASSERT_TRUE(fi.ok()) << fi.status().what();
    EXPECT_EQ(payloads_of(out, *fi), expect);
    EXPECT_EQ(fi->used_end + fi->padding_length, ps);
  }
  EXPECT_GT(dropped, 0u);
}

// ---------------------------------------------------------------- padding

TEST(AsfPacketPad, WidensAbsentPaddingFieldOfSinglePayload) {
  const std::uint32_t ps = 200;
  Bytes in = single_no_length_fields(100);
  auto ii = parse_packet(in, ps);
  ASSERT_TRUE(ii.ok()) << ii.status().what();
  EXPECT_EQ(ii->padding_width, 0u);
  Bytes out(ps, 0xEE);
  ASSERT_TRUE(pad_packet(in, ps, out.data()).ok());
  auto oi = parse_packet(out, ps);
  ASSERT_TRUE(oi.ok()) << oi.status().what();
  EXPECT_EQ(oi->padding_width, 1u);
  EXPECT_EQ(oi->padding_length, ps - in.size() - 1);
  EXPECT_EQ(payloads_of(out, *oi), payloads_of(in, *ii));
  EXPECT_EQ(asfdemux_single_payload_len(out, *oi, ps), 100u);
  EXPECT_EQ(out[out.size() - 1], 0);
}

TEST(AsfPacketPad, WidensToWordWhenPaddingExceedsAByte) {
  const std::uint32_t ps = 3000;
  Bytes in = single_no_length_fields(100);
  Bytes out(ps);
  ASSERT_TRUE(pad_packet(in, ps, out.data()).ok());
  auto oi = parse_packet(out, ps);
  ASSERT_TRUE(oi.ok());
  EXPECT_EQ(oi->padding_width, 2u);
  EXPECT_EQ(oi->padding_length, ps - in.size() - 2);
  auto ii = parse_packet(in, ps);
  EXPECT_EQ(payloads_of(out, *oi), payloads_of(in, *ii));
  // A BYTE padding field that is too narrow is widened too.
  Bytes in8 = in;
  in8[3] = 0x08;  // padding type BYTE
  in8.insert(in8.begin() + 5, 0);
  Bytes out8(ps);
  ASSERT_TRUE(pad_packet(in8, ps, out8.data()).ok());
  auto o8 = parse_packet(out8, ps);
  ASSERT_TRUE(o8.ok());
  EXPECT_EQ(o8->padding_width, 2u);
  EXPECT_EQ(payloads_of(out8, *o8), payloads_of(in, *ii));
}

TEST(AsfPacketPad, OneByteShortStillWidens) {
  Bytes in = single_no_length_fields(50);
  const auto ps = static_cast<std::uint32_t>(in.size() + 1);
  Bytes out(ps);
  ASSERT_TRUE(pad_packet(in, ps, out.data()).ok());
  auto oi = parse_packet(out, ps);
  ASSERT_TRUE(oi.ok());
  EXPECT_EQ(oi->padding_width, 1u);
  EXPECT_EQ(oi->padding_length, 0u);
  EXPECT_EQ(oi->payloads[0].data_end - oi->payloads[0].data_begin, 50u);
}

TEST(AsfPacketPad, ExplicitPacketLengthSetToPacketSize) {
  // Packet Length BYTE present, padding BYTE present; packet size needs a WORD.
  Bytes in;
  ByteWriter w(&in);
  w.u8(0x82);
  w.u16le(0);
  w.u8(0x28);  // packet length BYTE, padding BYTE
  w.u8(kProp);
  w.u8(0);  // packet length (fixed below)
  w.u8(0);  // padding
  w.u32le(10);
  w.u16le(0);
  put_payload_header(&w, 2, 1, 0, 30, 3000);
  w.zeros(30);
  in[5] = static_cast<std::uint8_t>(in.size());
  for (std::uint32_t ps : {200u, 1000u}) {
    Bytes out(ps);
    ASSERT_TRUE(pad_packet(in, ps, out.data()).ok());
    auto oi = parse_packet(out, ps);
    ASSERT_TRUE(oi.ok()) << oi.status().what();
    EXPECT_EQ(oi->packet_length, ps);
    EXPECT_EQ(oi->packet_length_width, ps > 255 ? 2u : 1u);
    EXPECT_EQ(oi->payloads[0].data_end - oi->payloads[0].data_begin, 30u);
    EXPECT_EQ(asfdemux_single_payload_len(out, *oi, ps), 30u);
  }
}

TEST(AsfPacketPad, RejectsLongerThanPacketSize) {
  Bytes in = single_no_length_fields(100);
  Bytes out(in.size());
  auto st = pad_packet(in, static_cast<std::uint32_t>(in.size() - 1), out.data());
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kMalformed);
  EXPECT_FALSE(parse_packet(in, static_cast<std::uint32_t>(in.size() - 1)).ok());
  Bytes v;
  EXPECT_FALSE(strip_padding(in, static_cast<std::uint32_t>(in.size() - 1), &v).ok());
}

TEST(AsfPacketPad, UnparseableInputIsZeroAppended) {
  Bytes in = {0x82, 0x00};
  Bytes out(10, 0xEE);
  ASSERT_TRUE(pad_packet(in, 10, out.data()).ok());
  EXPECT_EQ(out, (Bytes{0x82, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
}

// ---------------------------------------------------------------- parsing details

TEST(AsfPacketParse, CompressedPayload) {
  Bytes p;
  ByteWriter w(&p);
  w.u8(0x82);
  w.u16le(0);
  w.u8(0x01);  // multiple payloads, no padding field
  w.u8(kProp);
  w.u32le(77);
  w.u16le(0);
  w.u8(0x81);  // one payload, BYTE lengths? no: WORD lengths
  p.back() = 0x81;
  w.u8(0x82);  // stream 2, key
  w.u8(5);
  w.u32le(4100);  // presentation time of the first sub-payload
  w.u8(1);        // compressed
  w.u8(20);       // delta
  w.u16le(1 + 3 + 1 + 2);
  w.u8(3);
  w.zeros(3);
  w.u8(2);
  w.zeros(2);
  const auto ps = static_cast<std::uint32_t>(p.size() + 10);
  auto r = parse_packet(p, ps);
  ASSERT_TRUE(r.ok()) << r.status().what();
  ASSERT_EQ(r->payloads.size(), 1u);
  EXPECT_EQ(r->payloads[0].stream, 2);
  EXPECT_TRUE(r->payloads[0].keyframe);
  EXPECT_EQ(r->payloads[0].presentation_ms, 4100u);
  EXPECT_EQ(r->payloads[0].data_end - r->payloads[0].data_begin, 7u);
  EXPECT_TRUE(r->any_keyframe);
  // A sub-payload running past its payload is rejected.
  Bytes bad = p;
  bad[bad.size() - 3] = 9;
  EXPECT_FALSE(parse_packet(bad, ps).ok());
}

TEST(AsfPacketParse, PaddingBeyondPacketRejected) {
  Bytes p = multi({1}, 100);
  store_u16le(p.data() + 5, 1000);
  EXPECT_FALSE(parse_packet(p, 100).ok());
  Bytes v;
  EXPECT_FALSE(strip_padding(p, 100, &v).ok());
}

TEST(AsfPacketParse, PayloadLengthBeyondDataRejected) {
  Bytes p = multi({1, 2}, 200);
  // Shrink the declared padding-free area: padding eats into the second payload.
  const std::uint16_t padding = load_u16le(p.data() + 5);
  store_u16le(p.data() + 5, static_cast<std::uint16_t>(padding + 5));
  EXPECT_FALSE(parse_packet(p, 200).ok());
}

// ---------------------------------------------------------------- filtering

TEST(AsfPacketFilter, KeepsOnlySelectedPayloads) {
  const std::uint32_t ps = 400;
  Bytes in = multi({1, 2, 1, 3}, ps);
  auto ii = parse_packet(in, ps);
  ASSERT_TRUE(ii.ok());
  ASSERT_EQ(ii->payloads.size(), 4u);
  std::vector<bool> keep(128, false);
  keep[1] = keep[3] = true;
  Bytes out;
  bool empty = true;
  ASSERT_TRUE(filter_streams(in, ps, keep, &out, &empty).ok());
  EXPECT_FALSE(empty);
  ASSERT_EQ(out.size(), ps);
  auto oi = parse_packet(out, ps);
  ASSERT_TRUE(oi.ok()) << oi.status().what();
  ASSERT_EQ(oi->payloads.size(), 3u);
  auto all = payloads_of(in, *ii);
  EXPECT_EQ(payloads_of(out, *oi), (std::vector<PayloadKey>{all[0], all[2], all[3]}));
  EXPECT_EQ(out[oi->payload_flags_offset] & 0x3F, 3);
  EXPECT_EQ(oi->used_end + oi->padding_length, ps);

  keep.assign(128, false);
  ASSERT_TRUE(filter_streams(in, ps, keep, &out, &empty).ok());
  EXPECT_TRUE(empty);

  keep.assign(128, true);
  ASSERT_TRUE(filter_streams(in, ps, keep, &out, &empty).ok());
  EXPECT_FALSE(empty);
  EXPECT_EQ(out, in);
}

TEST(AsfPacketFilter, SinglePayloadAllOrNothing) {
  Bytes in = single_no_length_fields(20);
  const auto ps = static_cast<std::uint32_t>(in.size());
  std::vector<bool> keep(128, false);
  Bytes out;
  bool empty = false;
  ASSERT_TRUE(filter_streams(in, ps, keep, &out, &empty).ok());
  EXPECT_TRUE(empty);
  keep[1] = true;
  ASSERT_TRUE(filter_streams(in, ps, keep, &out, &empty).ok());
  EXPECT_FALSE(empty);
  EXPECT_EQ(out, in);
}

// ---------------------------------------------------------------- robustness

TEST(AsfPacketRobustness, RandomTruncationsAndFlipsNeverCrash) {
  std::mt19937 rng(12345);
  std::vector<bool> keep(128, false);
  keep[1] = true;
  for (const char* name : kMedia) {
    MediaPackets m = load_packets(name);
    const std::uint32_t ps = m.info.packet_size;
    Bytes out(ps);
    Bytes vec;
    for (const Bytes& pkt : m.packets) {
      for (int iter = 0; iter < 200; ++iter) {
        Bytes in(pkt.begin(), pkt.begin() + static_cast<std::ptrdiff_t>(rng() % (ps + 1)));
        if (!in.empty() && (iter & 1) != 0) {
          const std::size_t at = rng() % std::min<std::size_t>(in.size(), 64);
          in[at] = static_cast<std::uint8_t>(rng());
        }
        auto r = parse_packet(in, ps);
        if (r.ok()) {
          for (const PayloadInfo& p : r->payloads) {
            ASSERT_LE(p.data_end, in.size());
          }
        }
        ASSERT_TRUE(pad_packet(in, ps, out.data()).ok());
        if (strip_padding(in, ps, &vec).ok()) {
          ASSERT_LE(vec.size(), in.size());
        }
        bool empty = false;
        if (filter_streams(in, ps, keep, &vec, &empty).ok() && !empty) {
          ASSERT_TRUE(vec.size() == ps || vec == in);
        }
      }
    }
  }
}

}  // namespace
}  // namespace mms::asf
