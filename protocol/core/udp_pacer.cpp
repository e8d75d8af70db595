// UdpPacer: token bucket with a loss-driven rate (see udp_pacer.h).
#include "protocol/core/udp_pacer.h"

#include <algorithm>

namespace mms {

void UdpPacer::restart(Instant now) {
  rate_ = kPacerStartRate;
  lost_once_ = false;
  resume(now);
}

void UdpPacer::resume(Instant now) {
  backed_off_ = false;
  refilled_ = now;
  grown_ = now;
  tokens_ = depth();
}

std::int64_t UdpPacer::depth() const {
  // At least one large datagram, so that any rate can send.
  const auto d = static_cast<std::int64_t>(rate_ / 1000 * (kPacerBurst / kMillisecond));
  return std::max<std::int64_t>(d, 64 * 1024);
}

void UdpPacer::refill(Instant now) {
  if (now <= refilled_) {
    return;
  }
  // Grow once per whole millisecond elapsed, but only while the bucket is
  // what holds the sender back: a rate that is not used proves nothing.
  const Duration grow_ms = (now - grown_) / kMillisecond;
  if (tokens_ > 0) {
    grown_ = now;
  } else {
    const std::uint64_t divisor = lost_once_ ? kPacerGrowthDivisor : kPacerSlowStartDivisor;
    for (Duration i = 0; i < grow_ms && rate_ < kPacerMaxRate; ++i) {
      rate_ = std::min(kPacerMaxRate, rate_ + rate_ / divisor);
    }
    grown_ = grown_ + grow_ms * kMillisecond;
  }
  // Whole tokens for the time elapsed; the remainder of a byte stays for the
  // next refill (refills come at any instant). A full bucket keeps nothing.
  const std::uint64_t per_ms = std::max<std::uint64_t>(1, rate_ / 1000);
  const Duration elapsed = std::min<Duration>(now - refilled_, kSecond);  // no overflow below
  const std::uint64_t add =
      per_ms * static_cast<std::uint64_t>(elapsed) / static_cast<std::uint64_t>(kMillisecond);
  tokens_ += static_cast<std::int64_t>(add);
  if (tokens_ >= depth()) {
    tokens_ = depth();
    refilled_ = now;
    return;
  }
  refilled_ =
      refilled_ + static_cast<Duration>(add * static_cast<std::uint64_t>(kMillisecond) / per_ms);
}

bool UdpPacer::may_send(Instant now) {
  refill(now);
  return tokens_ > 0;
}

void UdpPacer::on_loss(Instant now, std::uint64_t rate_then) {
  if (backed_off_ && now < backoff_at_ + kPacerBackoffGap) {
    return;
  }
  lost_once_ = true;
  backed_off_ = true;
  backoff_at_ = now;
  ++backoffs_;
  const std::uint64_t base = rate_then != 0 ? std::min(rate_, rate_then) : rate_;
  rate_ = std::max(kPacerMinRate, base / 2);
  tokens_ = std::min(tokens_, depth());
}

Instant UdpPacer::next_send(Instant now) const {
  if (tokens_ > 0) {
    return now;
  }
  // Time for the missing tokens plus one byte at the current rate.
  const auto missing = static_cast<std::uint64_t>(1 - tokens_);
  const std::uint64_t per_ms = std::max<std::uint64_t>(1, rate_ / 1000);
  const auto wait = static_cast<Duration>(
      (missing * static_cast<std::uint64_t>(kMillisecond) + per_ms - 1) / per_ms);
  return std::max(now, refilled_ + wait);  // tokens accrue from refilled_ on
}

}  // namespace mms
