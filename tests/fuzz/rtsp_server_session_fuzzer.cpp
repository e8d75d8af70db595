// Fuzzes the RTSP (MS-RTSP) server session with request bytes split at
// random points, client datagrams and random time steps.
//
// Input: byte 0 = options (bit0 fast, bit1 keep padding, bit2 auth required,
// bit3 UDP refused, bit4 close after 3 packets), byte 1 = split-point seed,
// byte 2 = time step seed, byte 3 = length L of a trailing datagram (0 =
// none); then the client's TCP byte stream, then the datagram. Content is a
// small synthetic ASF (one audio stream, 12 packets) served on demand
// ("a.asf"), live ("live") and as a two-entry playlist ("pl"); "moved" is a
// redirect.
// Invariants: consumed <= offered; the TCP output decodes as whole RTSP units
// (responses, server requests, interleaved RTP frames); datagrams are RTP and
// only exist with a UDP port; the session ends or goes quiet within the step
// budget.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "protocol/core/byte_writer.h"
#include "protocol/rtsp/asf_rtp.h"
#include "protocol/rtsp/message_codec.h"
#include "protocol/rtsp/server_session.h"

namespace {

using mms::ByteView;
using mms::ByteWriter;

void guid(ByteWriter* w, std::uint32_t d1, std::uint16_t d2, std::uint16_t d3, std::uint64_t d4) {
  w->u32le(d1);
  w->u16le(d2);
  w->u16le(d3);
  for (int i = 7; i >= 0; --i) {
    w->u8(static_cast<std::uint8_t>(d4 >> (8 * i)));
  }
}

// A minimal ASF file: Header (File Properties, Stream Properties) + Data.
std::vector<std::uint8_t> make_asf() {
  constexpr std::uint32_t kPacketSize = 64;
  constexpr std::uint32_t kPackets = 12;
  std::vector<std::uint8_t> fp;
  {
    ByteWriter w(&fp);
    guid(&w, 0x8CABDCA1, 0xA947, 0x11CF, 0x8EE400C00C205365ull);
    w.u64le(104);
    w.zeros(16);                                                    // file id
    w.u64le(0);                                                     // file size
    w.u64le(0);                                                     // creation date
    w.u64le(kPackets);                                              // data packets
    w.u64le(std::uint64_t{kPackets} * 100 * 10000 + 1000 * 10000);  // play duration (100 ns)
    w.u64le(std::uint64_t{kPackets} * 100 * 10000);                 // send duration
    w.u64le(1000);                                                  // preroll ms
    w.u32le(2);                                                     // seekable
    w.u32le(kPacketSize);
    w.u32le(kPacketSize);
    w.u32le(64000);
  }
  std::vector<std::uint8_t> sp;
  {
    ByteWriter w(&sp);
    guid(&w, 0xB7DC0791, 0xA9B7, 0x11CF, 0x8EE600C00C205365ull);
    w.u64le(24 + 16 + 16 + 8 + 4 + 4 + 2 + 4 + 18);
    guid(&w, 0xF8699E40, 0x5B4D, 0x11CF, 0xA8FD00805F5C442Bull);  // audio
    guid(&w, 0x20FB5700, 0x5B55, 0x11CF, 0xA8FD00805F5C442Bull);  // no error correction
    w.u64le(0);
    w.u32le(18);
    w.u32le(0);
    w.u16le(1);  // stream 1
    w.u32le(0);
    w.u16le(0x161);  // WAVEFORMATEX: WMA2
    w.u16le(1);
    w.u32le(8000);
    w.u32le(4000);
    w.u16le(64);
    w.u16le(16);
    w.u16le(0);
  }
  std::vector<std::uint8_t> out;
  ByteWriter w(&out);
  guid(&w, 0x75B22630, 0x668E, 0x11CF, 0xA6D900AA0062CE6Cull);
  w.u64le(30 + fp.size() + sp.size());
  w.u32le(2);
  w.u8(1);
  w.u8(2);
  w.bytes(ByteView(fp));
  w.bytes(ByteView(sp));
  guid(&w, 0x75B22636, 0x668E, 0x11CF, 0xA6D900AA0062CE6Cull);
  w.u64le(50 + std::uint64_t{kPackets} * kPacketSize);
  w.zeros(16);
  w.u64le(kPackets);
  w.u8(1);
  w.u8(1);
  for (std::uint32_t i = 0; i < kPackets; ++i) {
    const std::size_t start = out.size();
    const std::uint8_t padding = static_cast<std::uint8_t>(i % 7);
    w.u8(0x82);
    w.u8(0);
    w.u8(0);
    w.u8(0x08);  // padding length: BYTE
    w.u8(0x5D);  // replicated BYTE, offset DWORD, object BYTE, stream BYTE
    w.u8(padding);
    w.u32le(1000 + i * 100);  // send time
    w.u16le(100);
    w.u8(0x81);  // key frame, stream 1
    w.u8(static_cast<std::uint8_t>(i));
    w.u32le(0);
    w.u8(8);
    const std::size_t data = kPacketSize - 27 - padding;
    w.u32le(static_cast<std::uint32_t>(data));
    w.u32le(1000 + i * 100);
    for (std::size_t k = 0; k < data; ++k) {
      w.u8(static_cast<std::uint8_t>(k + i));
    }
    w.zeros(kPacketSize - (out.size() - start));
  }
  return out;
}

class Source final : public mms::mmsh::ContentSource {
 public:
  Source() {
    auto a = mms::mmsh::Content::create("a.asf", make_asf(), false);
    auto l = mms::mmsh::Content::create("live", make_asf(), true);
    if (!a.ok() || !l.ok()) {
      std::abort();  // the synthetic file must be valid
    }
    items_["/a.asf"] = *a;
    items_["/live"] = *l;
  }
  mms::Result<std::shared_ptr<const mms::mmsh::Content>> open(std::string_view path) override {
    auto it = items_.find(std::string(path));
    if (it == items_.end()) {
      return mms::Status(mms::Code::kNotFound, "not found");
    }
    return it->second;
  }

 private:
  std::map<std::string, std::shared_ptr<const mms::mmsh::Content>> items_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mms;        // NOLINT(google-build-using-namespace)
  using namespace mms::rtsp;  // NOLINT(google-build-using-namespace)
  static Source source;
  if (size < 4) {
    return 0;
  }
  ServerConfig config;
  config.content = &source;
  config.fast = (data[0] & 1) != 0;
  config.keep_padding = (data[0] & 2) != 0;
  if ((data[0] & 4) != 0) {
    config.auth_user = "u";
    config.auth_password = "p";
  }
  config.refuse_udp = (data[0] & 8) != 0;
  config.close_after_packets = (data[0] & 16) != 0 ? 3 : 0;
  config.udp_port = 5544;
  config.redirects["moved"] = "rtsp://127.0.0.1/a.asf";
  config.playlists["pl"] = {"a.asf", "a.asf"};
  std::uint32_t rng = 0x9E3779B9u ^ (std::uint32_t{data[1]} << 8) ^ data[2];
  auto next = [&rng] {
    rng = rng * 1664525u + 1013904223u;
    return rng >> 8;
  };
  const std::size_t dlen = std::min<std::size_t>(data[3], size - 4);
  const ByteView stream(data + 4, size - 4 - dlen);
  const ByteView datagram(data + size - dlen, dlen);

  ServerSession s(&config, 7, Instant{0});
  Instant now{0};
  std::vector<std::uint8_t> pending;
  std::vector<std::uint8_t> out;
  std::size_t fed = 0;
  bool datagram_sent = dlen == 0;
  int steps = 0;
  auto check_output = [&out] {
    std::size_t used = 0;
    for (;;) {
      Unit u;
      Status err;
      const Decode d = decode_unit(ByteView(out).subview(used), &u, &err);
      if (d == Decode::kError) {
        std::abort();
      }
      if (d == Decode::kNeedMore) {
        break;
      }
      if (u.kind == UnitKind::kInterleaved && !parse_rtp(u.frame.payload).ok()) {
        std::abort();
      }
      used += u.wire_size;
    }
    out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(used));
  };
  while (steps++ < 20000) {
    if (fed < stream.size()) {
      const std::size_t n = std::min<std::size_t>(1 + next() % 64, stream.size() - fed);
      pending.insert(pending.end(), stream.begin() + fed, stream.begin() + fed + n);
      fed += n;
      auto r = s.on_bytes(ByteView(pending), now);
      if (r.ok()) {
        if (*r > pending.size()) {
          std::abort();
        }
        pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(*r));
      } else {
        pending.clear();
      }
    } else if (!datagram_sent) {
      s.on_datagram(datagram, now);
      datagram_sent = true;
    } else if (fed == stream.size() && (next() & 3) == 0) {
      s.on_eof(now);
      ++fed;
    }
    for (ByteView v = s.next_output(now); !v.empty(); v = s.next_output(now)) {
      const std::size_t w = 1 + next() % v.size();
      out.insert(out.end(), v.begin(), v.begin() + w);
      s.consume_output(w);
      check_output();
      if (out.size() > 1024u * 1024) {
        std::abort();  // a unit above any bound
      }
    }
    for (int i = 0; i < 4; ++i) {
      const std::uint16_t port = s.udp_port();
      for (ByteView d = s.next_datagram(now); !d.empty(); d = s.next_datagram(now)) {
        if (port == 0 || d.size() > kRtspUdpMtu || !parse_rtp(d).ok()) {
          std::abort();
        }
        s.consume_datagram();
      }
    }
    if (s.wants_close()) {
      break;
    }
    const auto dl = s.next_deadline();
    now = now + static_cast<Duration>(next() % 200) * kMillisecond;
    if (dl && *dl > now && (next() & 1) != 0) {
      now = *dl;
    }
    s.on_timeout(now);
    if (fed > stream.size() && !dl) {
      break;
    }
  }
  return 0;
}
