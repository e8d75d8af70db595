// What the server-session fuzzers (MMSH, MMS, RTSP) share: a tiny synthetic
// ASF file, a content source serving it on demand and live, a deterministic
// random source, and the drive loop that feeds a session the client's bytes
// in random pieces, reads its output in random widths, hands it one client
// datagram, ends the client's side and steps time to random points and to
// the session's deadlines.
//
// No gtest, no I/O: usable from libFuzzer targets; invariants abort().
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/core/byte_writer.h"
#include "protocol/core/bytes.h"
#include "protocol/core/time.h"
#include "protocol/mmsh/server_session.h"

namespace mms::test {

inline void write_guid(ByteWriter* w, std::uint32_t d1, std::uint16_t d2, std::uint16_t d3,
                       std::uint64_t d4) {
  w->u32le(d1);
  w->u16le(d2);
  w->u16le(d3);
  for (int i = 7; i >= 0; --i) {
    w->u8(static_cast<std::uint8_t>(d4 >> (8 * i)));
  }
}

// A minimal ASF file: Header (File Properties, Stream Properties of one WMA2
// audio stream) + Data of `packets` packets of 64 bytes, each one key-frame
// payload of stream 1 with send time 1000 + 100 * i ms and i % 7 bytes of
// padding.
inline std::vector<std::uint8_t> tiny_asf(std::uint32_t packets = 12) {
  constexpr std::uint32_t kPacketSize = 64;
  std::vector<std::uint8_t> fp;
  {
    ByteWriter w(&fp);
    write_guid(&w, 0x8CABDCA1, 0xA947, 0x11CF, 0x8EE400C00C205365ull);
    w.u64le(104);
    w.zeros(16);                                                   // file id
    w.u64le(0);                                                    // file size
    w.u64le(0);                                                    // creation date
    w.u64le(packets);                                              // data packets
    w.u64le(std::uint64_t{packets} * 100 * 10000 + 1000 * 10000);  // play duration (100 ns)
    w.u64le(std::uint64_t{packets} * 100 * 10000);                 // send duration
    w.u64le(1000);                                                 // preroll ms
    w.u32le(2);                                                    // seekable
    w.u32le(kPacketSize);
    w.u32le(kPacketSize);
    w.u32le(64000);
  }
  std::vector<std::uint8_t> sp;
  {
    ByteWriter w(&sp);
    write_guid(&w, 0xB7DC0791, 0xA9B7, 0x11CF, 0x8EE600C00C205365ull);
    w.u64le(24 + 16 + 16 + 8 + 4 + 4 + 2 + 4 + 18);
    write_guid(&w, 0xF8699E40, 0x5B4D, 0x11CF, 0xA8FD00805F5C442Bull);  // audio
    write_guid(&w, 0x20FB5700, 0x5B55, 0x11CF, 0xA8FD00805F5C442Bull);  // no error correction
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
  write_guid(&w, 0x75B22630, 0x668E, 0x11CF, 0xA6D900AA0062CE6Cull);
  w.u64le(30 + fp.size() + sp.size());
  w.u32le(2);
  w.u8(1);
  w.u8(2);
  w.bytes(ByteView(fp));
  w.bytes(ByteView(sp));
  write_guid(&w, 0x75B22636, 0x668E, 0x11CF, 0xA6D900AA0062CE6Cull);
  w.u64le(50 + std::uint64_t{packets} * kPacketSize);
  w.zeros(16);
  w.u64le(packets);
  w.u8(1);
  w.u8(1);
  for (std::uint32_t i = 0; i < packets; ++i) {
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

// tiny_asf() served on demand as "/a.asf" and live as "/live".
class TinyContent final : public server::ContentSource {
 public:
  TinyContent() {
    auto a = server::Content::create("a.asf", tiny_asf(), false);
    auto l = server::Content::create("live", tiny_asf(), true);
    if (!a.ok() || !l.ok()) {
      std::abort();  // the synthetic file must be valid
    }
    items_["/a.asf"] = *a;
    items_["/live"] = *l;
  }
  Result<std::shared_ptr<const server::Content>> open(std::string_view path) override {
    auto it = items_.find(std::string(path));
    if (it == items_.end()) {
      return Status(Code::kNotFound, "not found");
    }
    return it->second;
  }

 private:
  std::map<std::string, std::shared_ptr<const server::Content>> items_;
};

// A linear congruential generator seeded from two input bytes: the same
// input drives the same splits and time steps.
class Lcg {
 public:
  Lcg(std::uint8_t a, std::uint8_t b) : state_(0x9E3779B9u ^ (std::uint32_t{a} << 8) ^ b) {}
  std::uint32_t operator()() {
    state_ = state_ * 1664525u + 1013904223u;
    return state_ >> 8;
  }

 private:
  std::uint32_t state_;
};

// Drives `s` (any of the three ServerSessions) for at most `max_steps` steps.
// Each step: the next 1..64 client bytes (on_bytes; what it consumed must not
// exceed what it was offered), or once they are all in, `datagram` (when not
// empty) through `deliver(s, datagram, now)`, then on_eof at a random step;
// every output view read in random widths into `out`, `after_output(out)`
// after each piece; `after_step(now)` (datagrams out); then a random time
// step, or a jump to the session's deadline, and on_timeout. Ends when the
// session wants to close, or everything is in and no deadline is left.
template <typename Session, typename Deliver, typename AfterOutput, typename AfterStep>
void drive_server_session(Session& s, ByteView stream, ByteView datagram, Lcg& next, int max_steps,
                          std::vector<std::uint8_t>* out, Deliver deliver, AfterOutput after_output,
                          AfterStep after_step) {
  Instant now{0};
  std::vector<std::uint8_t> pending;
  std::size_t fed = 0;
  bool datagram_sent = datagram.empty();
  int steps = 0;
  while (steps++ < max_steps) {
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
      deliver(s, datagram, now);
      datagram_sent = true;
    } else if (fed == stream.size() && (next() & 3) == 0) {
      s.on_eof(now);
      ++fed;
    }
    for (ByteView v = s.next_output(now); !v.empty(); v = s.next_output(now)) {
      const std::size_t w = 1 + next() % v.size();
      out->insert(out->end(), v.begin(), v.begin() + w);
      s.consume_output(w);
      after_output(out);
    }
    after_step(now);
    if (s.wants_close()) {
      break;
    }
    const auto deadline = s.next_deadline();
    now = now + static_cast<Duration>(next() % 200) * kMillisecond;
    if (deadline && *deadline > now && (next() & 1) != 0) {
      now = *deadline;
    }
    s.on_timeout(now);
    if (fed > stream.size() && !deadline) {
      break;
    }
  }
}

}  // namespace mms::test
