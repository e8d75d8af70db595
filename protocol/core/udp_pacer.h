// UdpPacer: how fast a server sends UDP data that is not paced on the media
// clock (mms-server --fast). MS-MMSP and RTP have no flow control, and on a
// fast path (loopback) the sender never blocks: the kernel drops whatever the
// client's socket buffer cannot hold. So the sender paces itself with a token
// bucket whose rate follows the client's loss reports, like TCP's congestion
// window: it grows while nothing is reported lost and halves on a report, at
// most once per kPacerBackoffGap (one overrun shows up as many reports).
//
// Sans-I/O: `now` is always an argument. Rates are bytes per second.
#pragma once

#include <cstddef>
#include <cstdint>

#include "protocol/core/time.h"

namespace mms {

// The first rate of a play: a fraction of what loopback carries, so that a
// small client buffer does not overflow before the first report could come.
constexpr std::uint64_t kPacerStartRate = 256u * 1000 * 1000;
// Bounds: the floor keeps a play moving under heavy loss (then the media
// clock's rate is long exceeded); the ceiling is beyond any loopback.
constexpr std::uint64_t kPacerMinRate = 1u * 1000 * 1000;
constexpr std::uint64_t kPacerMaxRate = 16u * 1000 * 1000 * 1000;
// Growth per millisecond without loss: 1/8 until the first loss (reach the
// client's speed in a few tens of ms), then 1/64 (doubles in ~45 ms).
constexpr std::uint64_t kPacerSlowStartDivisor = 8;
constexpr std::uint64_t kPacerGrowthDivisor = 64;
// Loss reports closer than this to the last decrease belong to the same overrun.
constexpr Duration kPacerBackoffGap = 10 * kMillisecond;
// Bucket depth: the bytes of this much time at the current rate (the I/O
// layer's timers have millisecond granularity and fire late under load).
constexpr Duration kPacerBurst = 2 * kMillisecond;

class UdpPacer {
 public:
  // The first play: start rate, full bucket.
  void restart(Instant now);
  // A later play (a resume after a pause, a seek): the rate learnt so far,
  // full bucket.
  void resume(Instant now);
  // True while the bucket holds tokens; then send one datagram and call sent().
  bool may_send(Instant now);
  // `bytes` went out (new data or a resend).
  void sent(std::size_t bytes) { tokens_ -= static_cast<std::int64_t>(bytes); }
  // The client reported loss of data sent at `rate_then` (0 = unknown): the
  // rate halves from the lower of that and the current one (a report takes
  // the client's backlog to arrive; meanwhile the rate grew on).
  void on_loss(Instant now, std::uint64_t rate_then = 0);
  // When may_send() turns true again (now when it already is).
  Instant next_send(Instant now) const;

  std::uint64_t rate() const { return rate_; }
  std::uint32_t backoffs() const { return backoffs_; }

 private:
  void refill(Instant now);
  std::int64_t depth() const;

  std::uint64_t rate_ = kPacerStartRate;
  std::int64_t tokens_ = 0;
  Instant refilled_;  // tokens counted up to here
  Instant grown_;     // rate grown up to here
  bool lost_once_ = false;
  bool backed_off_ = false;
  Instant backoff_at_;
  std::uint32_t backoffs_ = 0;
};

}  // namespace mms
