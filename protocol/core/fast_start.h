// Fast Start (what Windows Media Services called it): a player asks the
// server to send the first seconds of a play faster than real time, so that
// its buffer (a player's network buffer is about 5 s) fills at once and the
// first picture comes in a second instead of five. Requested per play:
//   MMSH  Pragma: LinkBW=<bps>, AccelBW=<bps>, AccelDuration=<ms>
//   MMS   LinkViewerToMacStartPlaying dwAccelBandwidth (bps), dwAccelDuration (ms)
//   RTSP  X-Accelerate-Streaming: AccelDuration=<ms>;AccelBandwidth=<bps> (on PLAY)
// The server sends the first `burst_ms` of media (send time) at `factor`
// times real time, then paces in real time from where the burst left off.
//
// Pure arithmetic, shared by the three servers and clients.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

#include "protocol/core/time.h"

namespace mms {

// What a client asks for by default: the burst covers a player's 5 s buffer
// with room (the ASF preroll, a key frame before the start).
inline constexpr std::uint32_t kFastStartRequestMs = 10000;
// Bandwidth a client states when it has no measurement: "as much as you can".
inline constexpr std::uint32_t kFastStartAnyBandwidth = 0x7FFFFFFF;
// Longest burst a server grants, and the default and largest factor.
inline constexpr std::uint32_t kFastStartMaxBurstMs = 30000;
inline constexpr std::uint32_t kFastStartDefaultFactor = 10;
inline constexpr std::uint32_t kFastStartMaxFactor = 100;

// Broadcasts have nothing ahead of "now" to send faster: a client that asks
// for Fast Start joins this much media behind the live position (at the key
// frame at or before it) and gets it at once, so its buffer fills as from a
// burst, at the cost of being as far behind live. Windows Media Services did
// the same from a publishing point's buffer.
inline constexpr std::uint32_t kBroadcastFastStartMs = 5000;
// How far behind live a broadcast client asking for `accel_ms` of Fast Start
// joins, on a server allowing `max_factor` (1: Fast Start off, 0 ms).
inline std::uint32_t broadcast_fast_start_ms(std::uint64_t accel_ms, std::uint32_t max_factor) {
  if (accel_ms == 0 || max_factor <= 1) {
    return 0;
  }
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(accel_ms, kBroadcastFastStartMs));
}

// The backlog of such a join over MMS/UDP: sent at once, that burst of
// datagrams cost 1.1-1.5 s to a first picture on loopback (TCP and RTSP/UDP:
// 0.15 s), so the MMS server's UDP session paces it at `factor` times real
// time instead (0.35 s; RTSP/UDP paced so took 0.3-0.5 s and keeps the burst).
// A packet goes at the later of its live time and join + elapsed / factor, so
// the flow reaches live after behind * factor / (factor - 1) of media and is
// paced live from there. Only media up to kFastStartMaxBurstMs after the join
// is paced (a feed whose send times jump is then sent live, never held back).
struct CatchUp {
  std::uint32_t factor = 1;  // 1 = none: the backlog goes at once

  static CatchUp grant(std::uint32_t behind_ms, std::uint32_t max_factor) {
    CatchUp c;
    if (behind_ms > 0 && max_factor > 1) {
      c.factor = std::min(max_factor, kFastStartMaxFactor);
    }
    return c;
  }
  bool active() const { return factor > 1; }

  // The earliest time media `elapsed_ms` after the join's first packet may
  // go, from the join; std::nullopt when it is not paced here.
  std::optional<Duration> offset(std::int64_t elapsed_ms) const {
    if (!active() || elapsed_ms < 0 || elapsed_ms > std::int64_t{kFastStartMaxBurstMs}) {
      return std::nullopt;
    }
    return elapsed_ms * kMillisecond / factor;
  }
};

struct FastStart {
  std::int64_t burst_ms = 0;  // media time (from the play's first packet) sent accelerated
  std::uint32_t factor = 1;   // times real time during the burst; 1 = none

  bool active() const { return factor > 1 && burst_ms > 0; }

  // The grant for a request of `accel_ms` of media at `accel_bps` for content
  // of `content_bps` (0 when unknown), by a server that allows `max_factor`
  // (1 disables Fast Start). The factor is what the stated bandwidth carries,
  // at most max_factor.
  static FastStart grant(std::uint64_t accel_ms, std::uint64_t accel_bps, std::uint64_t content_bps,
                         std::uint32_t max_factor) {
    FastStart f;
    if (accel_ms == 0 || max_factor <= 1) {
      return f;
    }
    std::uint64_t factor = max_factor;
    if (content_bps > 0 && accel_bps > 0) {
      factor = std::min<std::uint64_t>(factor, accel_bps / content_bps);
    }
    if (factor <= 1) {
      return f;
    }
    f.factor = static_cast<std::uint32_t>(std::min<std::uint64_t>(factor, kFastStartMaxFactor));
    f.burst_ms = static_cast<std::int64_t>(std::min<std::uint64_t>(accel_ms, kFastStartMaxBurstMs));
    return f;
  }

  // When media `elapsed_ms` after the play's first packet is due, counted
  // from the play's start: elapsed / factor within the burst, real time after.
  Duration offset(std::int64_t elapsed_ms) const {
    if (!active() || elapsed_ms <= 0) {
      return std::max<std::int64_t>(elapsed_ms, 0) * kMillisecond;
    }
    if (elapsed_ms <= burst_ms) {
      return elapsed_ms * kMillisecond / factor;
    }
    return burst_ms * kMillisecond / factor + (elapsed_ms - burst_ms) * kMillisecond;
  }
};

}  // namespace mms
