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

#include "protocol/asf/guids.h"
#include "protocol/core/byte_writer.h"
#include "protocol/core/bytes.h"
#include "protocol/core/time.h"
#include "protocol/mmsh/server_session.h"
#include "tests/support/asf_builder.h"

namespace mms::test {

// A minimal ASF file: Header (File Properties, Stream Properties of one WMA2
// audio stream) + Data of `packets` packets of 64 bytes, each one key-frame
// payload of stream 1 with send time 1000 + 100 * i ms and i % 7 bytes of
// padding.
inline std::vector<std::uint8_t> tiny_asf(std::uint32_t packets = 12) {
  namespace b = asf_builder;
  constexpr std::uint32_t kPacketSize = 64;
  b::FileProperties fp;
  fp.file_id_first = 0;
  fp.packets = packets;
  fp.play_duration_100ns = std::uint64_t{packets} * 100 * 10000 + 1000 * 10000;
  fp.send_duration_100ns = std::uint64_t{packets} * 100 * 10000;
  fp.preroll_ms = 1000;
  fp.min_packet_size = kPacketSize;
  fp.max_packet_size = kPacketSize;
  fp.max_bitrate = 64000;
  b::WaveFormat wf;
  wf.channels = 1;
  wf.samples_per_sec = 8000;
  wf.avg_bytes_per_sec = 4000;
  wf.block_align = 64;
  std::vector<std::uint8_t> out = b::header_object(
      {b::file_properties(fp),
       b::stream_properties(1, asf::kAudioMedia, b::waveformatex(wf), &asf::kNoErrorCorrection)});
  const b::Bytes data = b::data_prefix(packets, kPacketSize);
  out.insert(out.end(), data.begin(), data.end());
  for (std::uint32_t i = 0; i < packets; ++i) {
    const b::Bytes p = b::single_payload_packet(kPacketSize, 1, static_cast<std::uint8_t>(i),
                                                static_cast<std::uint8_t>(i % 7), 1000 + i * 100,
                                                100, static_cast<std::uint8_t>(i));
    out.insert(out.end(), p.begin(), p.end());
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
