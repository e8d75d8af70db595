// Fuzzes session::StreamSwitcher with arbitrary packets. Input: byte 0 picks
// the selections before and after (bits 0-2 and 3-5: streams 1-3 of a
// multi-bitrate header, 300k and 100k video excluding each other, 64k audio),
// bytes 1-2 the packet size (little-endian, 0 read as 1), then packets, each
// a 2-byte little-endian length and its bytes. Invariants: a cut packet
// parses and holds none of the streams the switch adds; the switch happens at
// most once and only while armed; afterwards every packet passes.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "protocol/asf/header_parser.h"
#include "protocol/asf/packet.h"
#include "protocol/session/stream_switch.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using mms::session::StreamSwitcher;
  if (size < 3) {
    return 0;
  }
  auto info = std::make_shared<mms::asf::HeaderInfo>();
  info->packet_size = static_cast<std::uint32_t>(data[1] | (data[2] << 8));
  if (info->packet_size == 0) {
    info->packet_size = 1;
  }
  info->preroll_ms = 3000;
  info->streams = {{1, mms::asf::StreamType::kVideo, 300000, false},
                   {2, mms::asf::StreamType::kVideo, 100000, false},
                   {3, mms::asf::StreamType::kAudio, 64000, false}};
  info->exclusions = {{mms::asf::ExclusionType::kBitrate, {1, 2}}};
  std::vector<mms::asf::StreamChoice> before;
  std::vector<mms::asf::StreamChoice> after;
  bool added[4] = {false, false, false, false};
  for (std::uint16_t n = 1; n <= 3; ++n) {
    const bool b = (data[0] >> (n - 1) & 1) != 0;
    const bool a = (data[0] >> (n + 2) & 1) != 0;
    before.push_back({n, b});
    after.push_back({n, a});
    added[n] = a && !b;
  }
  StreamSwitcher sw;
  sw.arm(info, before, after);
  bool switched = false;
  std::size_t pos = 3;
  while (pos + 2 <= size) {
    const std::size_t len = static_cast<std::size_t>(data[pos] | (data[pos + 1] << 8));
    pos += 2;
    const std::size_t n = len < size - pos ? len : size - pos;
    const mms::ByteView packet(data + pos, n);
    pos += n;
    const bool was_armed = sw.armed();
    StreamSwitcher::Offer o = sw.offer(packet);
    switch (o.kind) {
      case StreamSwitcher::Offer::Kind::kSwitch:
        if (!was_armed || switched || sw.armed()) {
          std::abort();
        }
        switched = true;
        break;
      case StreamSwitcher::Offer::Kind::kFiltered: {
        if (!was_armed || o.packet.size() != info->packet_size) {
          std::abort();
        }
        auto parsed = mms::asf::parse_packet(mms::ByteView(o.packet), info->packet_size);
        if (!parsed.ok()) {
          std::abort();
        }
        for (const mms::asf::PayloadInfo& p : parsed->payloads) {
          if (p.stream <= 3 && added[p.stream]) {
            std::abort();
          }
        }
        break;
      }
      case StreamSwitcher::Offer::Kind::kDrop:
        if (!was_armed) {
          std::abort();
        }
        break;
      case StreamSwitcher::Offer::Kind::kPass:
        break;
    }
  }
  return 0;
}
