// continuing_streams, continue_packet and mark_open_ended (protocol/asf/splice.h)
// over the fixture files' real headers and packets, and built packets.
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/asf/guids.h"
#include "protocol/asf/header_parser.h"
#include "protocol/asf/packet.h"
#include "protocol/asf/splice.h"
#include "protocol/core/byte_reader.h"
#include "protocol/core/byte_writer.h"

namespace mms::asf {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes read_media(const std::string& rel) {
  std::ifstream f(std::string(MMS_SOURCE_ROOT) + "/tests/media/" + rel, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

struct Media {
  Bytes header;  // Header Object + Data Object prefix
  HeaderInfo info;
  std::vector<Bytes> packets;
};

Media load(const std::string& rel) {
  Media m;
  const Bytes file = read_media(rel);
  auto layout = scan_file(file);
  EXPECT_TRUE(layout.ok()) << rel;
  if (!layout.ok()) {
    return m;
  }
  m.info = layout->info;
  m.header.assign(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(layout->header_bytes));
  const std::size_t ps = m.info.packet_size;
  for (std::uint64_t k = 0; k < layout->packet_count; ++k) {
    auto begin = file.begin() + static_cast<std::ptrdiff_t>(layout->first_packet + k * ps);
    m.packets.emplace_back(begin, begin + static_cast<std::ptrdiff_t>(ps));
  }
  return m;
}

// Offsets of the Stream Properties Objects in a header (by their GUID).
std::vector<std::size_t> stream_objects(const Bytes& h) {
  std::vector<std::size_t> out;
  for (std::size_t i = 30; i + 16 <= h.size(); ++i) {
    if (guid_equals(h.data() + i, kStreamProperties)) {
      out.push_back(i);
    }
  }
  return out;
}

constexpr std::size_t kFlags = 72;  // Stream Properties: the stream number byte

TEST(AsfSplice, TheSameHeaderMapsEveryStreamToItself) {
  for (const char* f : {"fixtures/small.asf", "fixtures/mbr.asf", "real/taglib-lossless.wma"}) {
    Media m = load(f);
    auto map = continuing_streams(m.header, m.header);
    ASSERT_TRUE(map.ok()) << f << ": " << map.status().what();
    ASSERT_FALSE(m.info.streams.empty());
    for (const StreamInfo& s : m.info.streams) {
      EXPECT_EQ(map->stream[s.number], s.number) << f;
    }
  }
}

TEST(AsfSplice, RenumberedStreamsMapBack) {
  Media m = load("fixtures/small.asf");
  std::vector<std::size_t> at = stream_objects(m.header);
  ASSERT_EQ(at.size(), 2u);
  Bytes next = m.header;
  const std::uint8_t a = next[at[0] + kFlags] & 0x7F;
  const std::uint8_t b = next[at[1] + kFlags] & 0x7F;
  // Streams a and b become 9 and 5 in the next entry.
  next[at[0] + kFlags] = static_cast<std::uint8_t>((next[at[0] + kFlags] & 0x80) | 9);
  next[at[1] + kFlags] = static_cast<std::uint8_t>((next[at[1] + kFlags] & 0x80) | 5);
  auto map = continuing_streams(m.header, next);
  ASSERT_TRUE(map.ok()) << map.status().what();
  EXPECT_EQ(map->stream[9], a);
  EXPECT_EQ(map->stream[5], b);
  EXPECT_EQ(map->stream[a], 0);
}

TEST(AsfSplice, ASubsetOfTheStreamsContinues) {
  // The next entry has only the second stream (an audio-only entry after A/V).
  Media m = load("fixtures/small.asf");
  std::vector<std::size_t> at = stream_objects(m.header);
  ASSERT_EQ(at.size(), 2u);
  const std::uint64_t size0 = load_u64le(m.header.data() + at[0] + 16);
  Bytes next(m.header.begin(), m.header.begin() + static_cast<std::ptrdiff_t>(at[0]));
  next.insert(next.end(), m.header.begin() + static_cast<std::ptrdiff_t>(at[0] + size0),
              m.header.end());
  // Header Object size and object count.
  store_u64le(next.data() + 16, load_u64le(next.data() + 16) - size0);
  store_u32le(next.data() + 24, load_u32le(next.data() + 24) - 1);
  auto info = parse_header(next);
  ASSERT_TRUE(info.ok()) << info.status().what();
  ASSERT_EQ(info->streams.size(), 1u);
  auto map = continuing_streams(m.header, next);
  ASSERT_TRUE(map.ok()) << map.status().what();
  const std::uint8_t n = static_cast<std::uint8_t>(info->streams[0].number);
  EXPECT_EQ(map->stream[n], m.header[at[1] + kFlags] & 0x7F);
}

TEST(AsfSplice, OtherCodecDataDoesNotContinue) {
  Media m = load("fixtures/small.asf");
  std::vector<std::size_t> at = stream_objects(m.header);
  ASSERT_FALSE(at.empty());
  Bytes next = m.header;
  next[at[0] + 78] ^= 0x01;  // the first byte of the type-specific data
  auto map = continuing_streams(m.header, next);
  ASSERT_FALSE(map.ok());
  EXPECT_EQ(map.status().code(), Code::kUnsupported) << map.status().what();
}

TEST(AsfSplice, ABroadcastDoesNotContinue) {
  Media m = load("fixtures/small.asf");
  Bytes live = m.header;
  ASSERT_TRUE(mark_broadcast(&live).ok());
  EXPECT_EQ(continuing_streams(m.header, live).status().code(), Code::kUnsupported);
  EXPECT_EQ(continuing_streams(live, m.header).status().code(), Code::kUnsupported);
}

TEST(AsfSplice, TruncatedHeadersFailCleanly) {
  Media m = load("fixtures/small.asf");
  // Cut inside the Header Object (the Data Object prefix is not needed here).
  for (std::size_t n = 0; n < m.info.header_object_size; ++n) {
    const ByteView cut(m.header.data(), n);
    EXPECT_FALSE(continuing_streams(m.header, cut).ok()) << n;
    EXPECT_FALSE(continuing_streams(cut, m.header).ok()) << n;
  }
  // Trailing bytes after the header are not read.
  Bytes more = m.header;
  more.insert(more.end(), 100, 0xAB);
  EXPECT_TRUE(continuing_streams(m.header, more).ok());
}

TEST(AsfSplice, PacketsMoveOnByTheShift) {
  for (const char* f : {"fixtures/small.asf", "fixtures/mbr.asf", "real/taglib-silence-1.wma"}) {
    Media m = load(f);
    auto map = continuing_streams(m.header, m.header);
    ASSERT_TRUE(map.ok()) << f;
    ASSERT_FALSE(m.packets.empty());
    for (const Bytes& pkt : m.packets) {
      auto before = parse_packet(pkt, m.info.packet_size);
      ASSERT_TRUE(before.ok());
      Bytes out = pkt;
      ASSERT_TRUE(continue_packet(out.data(), out.size(), m.info.packet_size, *map, 4046).ok());
      auto after = parse_packet(out, m.info.packet_size);
      ASSERT_TRUE(after.ok());
      EXPECT_EQ(after->send_time_ms, before->send_time_ms + 4046);
      ASSERT_EQ(after->payloads.size(), before->payloads.size());
      for (std::size_t i = 0; i < before->payloads.size(); ++i) {
        const PayloadInfo& x = before->payloads[i];
        const PayloadInfo& y = after->payloads[i];
        EXPECT_EQ(y.stream, x.stream);
        EXPECT_EQ(y.keyframe, x.keyframe);
        EXPECT_EQ(y.presentation_ms, x.presentation_ms + 4046) << f;
        EXPECT_TRUE(std::equal(pkt.begin() + static_cast<std::ptrdiff_t>(x.data_begin),
                               pkt.begin() + static_cast<std::ptrdiff_t>(x.data_end),
                               out.begin() + static_cast<std::ptrdiff_t>(y.data_begin)));
      }
    }
  }
}

TEST(AsfSplice, StreamNumbersFollowTheMap) {
  Media m = load("fixtures/small.asf");
  StreamMap map;
  for (const StreamInfo& s : m.info.streams) {
    map.stream[s.number] = static_cast<std::uint8_t>(s.number + 10);
  }
  Bytes out = m.packets.front();
  auto before = parse_packet(out, m.info.packet_size);
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(continue_packet(out.data(), out.size(), m.info.packet_size, map, 0).ok());
  auto after = parse_packet(out, m.info.packet_size);
  ASSERT_TRUE(after.ok());
  for (std::size_t i = 0; i < before->payloads.size(); ++i) {
    EXPECT_EQ(after->payloads[i].stream, before->payloads[i].stream + 10);
    EXPECT_EQ(after->payloads[i].keyframe, before->payloads[i].keyframe);
  }
  // A send time is never below the one given.
  Bytes early = m.packets.front();
  std::uint32_t written = 0;
  ASSERT_TRUE(continue_packet(early.data(), early.size(), m.info.packet_size, map, 0,
                              before->send_time_ms + 500, &written)
                  .ok());
  auto late = parse_packet(early, m.info.packet_size);
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->send_time_ms, before->send_time_ms + 500);
  EXPECT_EQ(written, late->send_time_ms);
  EXPECT_EQ(late->payloads[0].presentation_ms, before->payloads[0].presentation_ms);
  // A payload of a stream the map does not know.
  Bytes again = m.packets.front();
  EXPECT_EQ(continue_packet(again.data(), again.size(), m.info.packet_size, StreamMap{}, 0).code(),
            Code::kMalformed);
}

// One compressed payload whose presentation time is in an Offset Into Media
// Object field of `width` bytes.
Bytes compressed_packet(unsigned width, std::uint32_t pts) {
  Bytes p;
  ByteWriter w(&p);
  w.u8(0x82);
  w.u16le(0);
  w.u8(0x01);  // multiple payloads
  w.u8(static_cast<std::uint8_t>(0x51 | ((width == 1 ? 1 : width == 2 ? 2 : 3) << 2)));
  w.u32le(77);  // send time
  w.u16le(0);
  w.u8(0x41);  // one payload, BYTE lengths
  w.u8(0x82);  // stream 2, key
  w.u8(5);
  if (width == 1) {
    w.u8(static_cast<std::uint8_t>(pts));
  } else if (width == 2) {
    w.u16le(static_cast<std::uint16_t>(pts));
  } else {
    w.u32le(pts);
  }
  w.u8(1);   // compressed
  w.u8(20);  // delta
  w.u8(1 + 3 + 1 + 2);
  w.u8(3);
  w.zeros(3);
  w.u8(2);
  w.zeros(2);
  return p;
}

TEST(AsfSplice, CompressedPayloadsMoveOn) {
  StreamMap map;
  map.stream[2] = 1;
  Bytes p = compressed_packet(4, 4100);
  const auto ps = static_cast<std::uint32_t>(p.size() + 10);
  ASSERT_TRUE(parse_packet(p, ps).ok());
  ASSERT_TRUE(continue_packet(p.data(), p.size(), ps, map, 1000).ok());
  auto r = parse_packet(p, ps);
  ASSERT_TRUE(r.ok()) << r.status().what();
  EXPECT_EQ(r->send_time_ms, 1077u);
  ASSERT_EQ(r->payloads.size(), 1u);
  EXPECT_EQ(r->payloads[0].stream, 1);
  EXPECT_TRUE(r->payloads[0].keyframe);
  EXPECT_EQ(r->payloads[0].presentation_ms, 5100u);
  // A time past its field is an error, not a wrapped time.
  Bytes small = compressed_packet(2, 65000);
  EXPECT_EQ(continue_packet(small.data(), small.size(), ps, map, 1000).code(),
            Code::kLimitExceeded);
  Bytes late = compressed_packet(4, 4100);
  EXPECT_EQ(continue_packet(late.data(), late.size(), ps, map, 0xFFFFFF00u).code(),
            Code::kLimitExceeded);
}

TEST(AsfSplice, TruncatedAndLongPacketsFailCleanly) {
  Media m = load("fixtures/small.asf");
  auto map = continuing_streams(m.header, m.header);
  ASSERT_TRUE(map.ok());
  const Bytes& pkt = m.packets.front();
  for (std::size_t n = 0; n <= pkt.size(); ++n) {
    Bytes cut(pkt.begin(), pkt.begin() + static_cast<std::ptrdiff_t>(n));
    const Status st = continue_packet(cut.data(), cut.size(), m.info.packet_size, *map, 10);
    if (st.ok()) {
      EXPECT_TRUE(parse_packet(cut, m.info.packet_size).ok()) << n;
    }
  }
  Bytes longer = pkt;
  longer.push_back(0);
  EXPECT_EQ(continue_packet(longer.data(), longer.size(), m.info.packet_size, *map, 10).code(),
            Code::kMalformed);
}

TEST(AsfSplice, OpenEndedHeader) {
  Media m = load("fixtures/small.asf");
  ASSERT_GT(m.info.play_duration_100ns, 0u);
  Bytes h = m.header;
  ASSERT_TRUE(mark_open_ended(&h, 1ull << 40).ok());
  auto info = parse_header(h);
  ASSERT_TRUE(info.ok()) << info.status().what();
  EXPECT_EQ(info->play_duration_100ns, 0u);
  EXPECT_EQ(info->send_duration_100ns, 0u);
  EXPECT_EQ(info->packet_size, m.info.packet_size);
  EXPECT_EQ(info->streams.size(), m.info.streams.size());
  EXPECT_EQ(load_u64le(h.data() + info->header_object_size + 40), 1ull << 40);
  // Without the Data Object prefix, and cut short: errors.
  Bytes bare(m.header.begin(),
             m.header.begin() + static_cast<std::ptrdiff_t>(m.info.header_object_size));
  EXPECT_FALSE(mark_open_ended(&bare, 1).ok());
  for (std::size_t n = 0; n < m.header.size(); n += 7) {
    Bytes cut(m.header.begin(), m.header.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_FALSE(mark_open_ended(&cut, 1).ok()) << n;
  }
}

}  // namespace
}  // namespace mms::asf
