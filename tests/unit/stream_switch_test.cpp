// StreamSwitcher over the packets of a real multi-bitrate file
// (tests/media/fixtures/mbr.asf: 300k and 100k video excluding each other,
// 64k audio): what passes before the switch point, where the point is, what
// the new entry's timeline starts from.
#include "protocol/session/stream_switch.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/asf/header_parser.h"
#include "protocol/asf/packet.h"

namespace mms::session {
namespace {

struct File {
  std::shared_ptr<const asf::HeaderInfo> info;
  std::vector<std::vector<std::uint8_t>> packets;
};

File load(const std::string& rel) {
  std::ifstream f(std::string(MMS_SOURCE_ROOT) + "/tests/media/" + rel, std::ios::binary);
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(f)),
                                        std::istreambuf_iterator<char>());
  File out;
  Result<asf::FileLayout> layout = asf::scan_file(bytes);
  EXPECT_TRUE(layout.ok());
  if (!layout.ok()) {
    return out;
  }
  out.info = std::make_shared<const asf::HeaderInfo>(layout->info);
  for (std::uint64_t i = 0; i < layout->packet_count; ++i) {
    auto b = bytes.begin() +
             static_cast<std::ptrdiff_t>(layout->first_packet + i * layout->info.packet_size);
    out.packets.emplace_back(b, b + layout->info.packet_size);
  }
  return out;
}

std::vector<asf::StreamChoice> choice(std::vector<std::uint16_t> on) {
  std::vector<asf::StreamChoice> c;
  for (std::uint16_t n : {1, 2, 3}) {
    c.push_back({n, std::find(on.begin(), on.end(), n) != on.end()});
  }
  return c;
}

std::vector<std::uint8_t> streams_in(const std::vector<std::uint8_t>& packet,
                                     std::uint32_t packet_size, asf::PacketInfo* info = nullptr) {
  Result<asf::PacketInfo> p = asf::parse_packet(ByteView(packet), packet_size);
  EXPECT_TRUE(p.ok());
  std::vector<std::uint8_t> s;
  if (p.ok()) {
    for (const asf::PayloadInfo& pl : p->payloads) {
      s.push_back(pl.stream);
    }
    if (info != nullptr) {
      *info = *p;
    }
  }
  return s;
}

TEST(StreamSwitcher, AddedStreamStartsAtItsKeyFrameAndIsCutBefore) {
  const File f = load("fixtures/mbr.asf");
  ASSERT_EQ(f.packets.size(), 5u);  // 1 s: the key frames are in the first packet
  const std::uint32_t ps = f.info->packet_size;
  StreamSwitcher sw;
  EXPECT_FALSE(sw.armed());
  EXPECT_EQ(sw.offer(ByteView(f.packets[0])).kind, StreamSwitcher::Offer::Kind::kPass);
  // Mid-stream, from the 100k video (2) to the 300k video (1); audio (3)
  // stays. Packets 1..4 (no key frame), then packet 0 again (as a server
  // looping the clip would send it).
  sw.arm(f.info, choice({2, 3}), choice({1, 3}));
  ASSERT_TRUE(sw.armed());
  const std::size_t order[] = {1, 2, 3, 4, 0};
  std::size_t at = 0;
  std::size_t cut = 0;
  for (; at < 5; ++at) {
    const std::size_t i = order[at];
    asf::PacketInfo original;
    const std::vector<std::uint8_t> in = streams_in(f.packets[i], ps, &original);
    const bool key1 = std::any_of(original.payloads.begin(), original.payloads.end(),
                                  [](const asf::PayloadInfo& p) {
                                    return p.stream == 1 && p.keyframe && p.object_offset == 0;
                                  });
    StreamSwitcher::Offer o = sw.offer(ByteView(f.packets[i]));
    if (key1) {
      ASSERT_EQ(o.kind, StreamSwitcher::Offer::Kind::kSwitch) << "packet " << i;
      std::uint32_t first = UINT32_MAX;
      for (const asf::PayloadInfo& p : original.payloads) {
        first = std::min(first, p.presentation_ms);
      }
      EXPECT_EQ(o.continues_at_ms, first - f.info->preroll_ms);
      break;
    }
    const bool has1 = std::find(in.begin(), in.end(), 1) != in.end();
    if (!has1) {
      EXPECT_EQ(o.kind, StreamSwitcher::Offer::Kind::kPass) << "packet " << i;
      continue;
    }
    ++cut;
    std::vector<std::uint8_t> want;
    std::copy_if(in.begin(), in.end(), std::back_inserter(want),
                 [](std::uint8_t s) { return s != 1; });
    if (want.empty()) {
      EXPECT_EQ(o.kind, StreamSwitcher::Offer::Kind::kDrop) << "packet " << i;
      continue;
    }
    ASSERT_EQ(o.kind, StreamSwitcher::Offer::Kind::kFiltered) << "packet " << i;
    ASSERT_EQ(o.packet.size(), ps);
    EXPECT_EQ(streams_in(o.packet, ps), want) << "packet " << i;
  }
  ASSERT_EQ(at, 4u) << "the switch is at the key frame of stream 1, in packet 0";
  EXPECT_GT(cut, 0u) << "stream 1 data before its key frame was never cut";
  EXPECT_FALSE(sw.armed());
  EXPECT_EQ(sw.offer(ByteView(f.packets[1])).kind, StreamSwitcher::Offer::Kind::kPass);
}

TEST(StreamSwitcher, DroppingStreamsSwitchesAtTheNextPacket) {
  const File f = load("fixtures/mbr.asf");
  ASSERT_EQ(f.packets.size(), 5u);
  StreamSwitcher sw;
  sw.arm(f.info, choice({1, 3}), choice({3}));  // audio only
  StreamSwitcher::Offer o = sw.offer(ByteView(f.packets[3]));
  EXPECT_EQ(o.kind, StreamSwitcher::Offer::Kind::kSwitch);
  EXPECT_FALSE(sw.armed());
}

TEST(StreamSwitcher, UnparsablePacketsPassAndKeepTheSwitchArmed) {
  const File f = load("fixtures/mbr.asf");
  StreamSwitcher sw;
  sw.arm(f.info, choice({2, 3}), choice({1, 3}));
  const std::vector<std::uint8_t> junk(40, 0xFF);
  EXPECT_EQ(sw.offer(ByteView(junk)).kind, StreamSwitcher::Offer::Kind::kPass);
  const std::vector<std::uint8_t> empty;
  EXPECT_EQ(sw.offer(ByteView(empty)).kind, StreamSwitcher::Offer::Kind::kPass);
  EXPECT_TRUE(sw.armed());
  // Byte by byte prefixes of a packet: none crashes, none is taken for more.
  for (std::size_t n = 0; n < f.packets[2].size(); n += 7) {
    (void)sw.offer(ByteView(f.packets[2].data(), n));
  }
}

}  // namespace
}  // namespace mms::session
