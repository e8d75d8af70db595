// Packet-pair bandwidth probe (MS-MMSP 3.1.5.3 / 3.2.5.4 / 3.2.5.8, MS-WMSP
// 2.2.3.7): the server sends a few probe packets back to back; the narrowest
// link on the way spaces them out, so the bytes that arrived after the first
// probe, over the time they took to arrive, estimate that link's rate.
//
// Over TCP the probes are split into and merged with other segments, so the
// estimate counts what arrived between the read that completed the first
// probe and the read that completed the last: the later probes, plus what
// came after the last in its read, minus what came after the first in its.
//
// Sans-I/O: the caller supplies the arrival times. One thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "protocol/core/time.h"

namespace mms {

class PacketPairProbe {
 public:
  // The first probe is complete at `now`; `already_here` bytes after it
  // arrived in the same read.
  void first(Instant now, std::size_t already_here) {
    started_ = true;
    start_ = now;
    already_here_ = already_here;
    later_bytes_ = 0;
  }
  // A later probe of `bytes` (as counted on the wire) is complete.
  void later(std::size_t bytes) { later_bytes_ += bytes; }
  // The last probe is complete at `now`, `also_here` bytes after it in the
  // same read: the estimate in bits per second, or nothing when it cannot be
  // told (no time passed: the link is faster than the clock can show; or
  // nothing arrived after the first read).
  std::optional<std::uint64_t> finish(Instant now, std::size_t also_here = 0) const {
    const std::uint64_t arrived = std::uint64_t{later_bytes_} + also_here;
    if (!started_ || now <= start_ || arrived <= already_here_) {
      return std::nullopt;
    }
    const std::uint64_t bytes = arrived - already_here_;
    const std::uint64_t ns = static_cast<std::uint64_t>(now - start_);
    // bits * 1e9 / ns; probes are a few kilobytes, far below the overflow bound.
    constexpr std::uint64_t kBitNs = std::uint64_t{8} * 1'000'000'000u;
    if (bytes > UINT64_MAX / kBitNs) {
      return UINT64_MAX;
    }
    return bytes * kBitNs / ns;
  }
  bool started() const { return started_; }

 private:
  bool started_ = false;
  Instant start_;
  std::size_t already_here_ = 0;
  std::size_t later_bytes_ = 0;
};

}  // namespace mms
