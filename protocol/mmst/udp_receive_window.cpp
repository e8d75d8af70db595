#include "protocol/mmst/udp_receive_window.h"

#include <algorithm>

#include "protocol/core/limits.h"
#include "protocol/core/log.h"

namespace mms::mmst {
namespace {

constexpr const char* kLog = "mmst-client";

}  // namespace

void UdpReceiveWindow::start_play(std::uint8_t play_incarnation,
                                  std::optional<std::uint32_t> first_location,
                                  bool sequence_from_zero) {
  if (seq_minus_location_) {
    prev_seq_minus_location_ = seq_minus_location_;
    prev_play_inc_ = play_inc_;
  }
  seq_minus_location_.reset();  // a new play: set by its first packet
  play_first_location_ = first_location;
  play_inc_ = play_incarnation;
  clear();
  seq_known_ = sequence_from_zero;
  next_seq_ = 0;
}

void UdpReceiveWindow::clear() {
  window_top_.reset();
  held_.clear();
  missing_.clear();
  requested_at_.clear();
  unrequested_.clear();
  retry_queue_.clear();
  request_round_.reset();
}

void UdpReceiveWindow::restart_sequence() {
  clear();
  seq_known_ = false;
}

std::size_t UdpReceiveWindow::reorder_limit(std::uint32_t packet_size) {
  const std::size_t size = std::max<std::size_t>(packet_size, 1);
  return std::clamp<std::size_t>(kMaxUdpReorderBytes / size, 16, kMaxUdpReorderPackets);
}

std::uint32_t UdpReceiveWindow::sequence_of(const DataPacket& p, bool every_packet) {
  // The first packet of a later play comes after everything the server sent
  // before: the next value above the highest seen with these low 8 bits.
  std::uint32_t seq =
      seq_known_
          ? extend_sequence(next_seq_, p.af_flags)
          : last_seq_ + 1 + static_cast<std::uint8_t>(p.af_flags - ((last_seq_ + 1) & 0xFFu));
  if (!every_packet) {
    return seq;
  }
  if (!seq_minus_location_) {
    seq_minus_location_ = seq - p.location_id;
    return seq;
  }
  // AFFlags count 256 packets: a burst of 256 or more lost ones looks like a
  // short gap, and a resend from further back than 128 packets like a packet
  // from ahead. The LocationId says where the packet belongs; it is taken
  // when it agrees with AFFlags (feed() bounds the distance).
  const std::uint32_t by_location = p.location_id + *seq_minus_location_;
  if (by_location != seq && (by_location & 0xFFu) == p.af_flags) {
    seq = by_location;
  }
  return seq;
}

void UdpReceiveWindow::note_server_sequence(std::uint32_t seq) {
  if (static_cast<std::int32_t>(seq - last_seq_) > 0) {
    last_seq_ = seq;  // resends from further back do not move it
  }
}

void UdpReceiveWindow::note(const DataPacket& p, bool every_packet) {
  if (!every_packet) {
    return;
  }
  std::optional<std::uint32_t> offset;
  if (p.play_incarnation == play_inc_) {
    offset = seq_minus_location_;
  } else if (p.play_incarnation == prev_play_inc_) {
    offset = prev_seq_minus_location_;
  }
  if (offset && ((p.location_id + *offset) & 0xFFu) == p.af_flags) {
    note_server_sequence(p.location_id + *offset);
  }
}

UdpReceiveWindow::Fed UdpReceiveWindow::feed(const DataPacket& p, Instant now, const Context& ctx) {
  const std::uint32_t seq = sequence_of(p, ctx.every_packet);
  note_server_sequence(seq);
  if (!seq_known_) {
    seq_known_ = true;
    next_seq_ = seq;
    // A play from a known packet (resume, replay) with every packet sent:
    // the first ones may be the lost ones; expect the play's first packet.
    if (play_first_location_ && seq_minus_location_ && p.location_id >= *play_first_location_ &&
        p.location_id - *play_first_location_ < kMaxUdpGapPackets) {
      next_seq_ = *play_first_location_ + *seq_minus_location_;
    }
  }
  const auto diff = static_cast<std::int32_t>(seq - next_seq_);
  if (diff < 0 || held_.count(seq) != 0) {
    return Fed{true, std::nullopt};  // a duplicate, or a packet already given up
  }
  if (missing_.count(seq) != 0) {
    ++recovered_;
    const auto r = requested_at_.find(seq);
    if (r != requested_at_.end() && !r->second.again) {
      const Duration sample = now - r->second.at;
      resend_rtt_ = resend_rtt_ ? (*resend_rtt_ * 7 + sample) / 8 : sample;
    }
    forget_missing(seq);
  }
  if (diff == 0 && held_.empty()) {
    ++next_seq_;
    sink_->on_deliver(p.payload, p.location_id);  // in order: no copy
    return Fed{};
  }
  if (static_cast<std::uint32_t>(diff) >= kMaxUdpGapPackets) {
    if (sink_->may_replay()) {
      return Fed{false, Replay{next_seq_, "gap too long"}};  // too far ahead to ask for the gap
    }
    // Too far ahead to wait for the gap: give up on everything before it.
    MMS_LOG(LogLevel::kInfo, kLog, "UDP packets %u..%u given up (jump)", next_seq_, seq - 1);
    while (next_seq_ != seq) {
      auto it = held_.find(next_seq_);
      if (it != held_.end()) {
        deliver_held(it);
      } else {
        ++lost_;
        sink_->on_lost(next_seq_);
      }
      forget_missing(next_seq_);
      ++next_seq_;
    }
  } else {
    // Only the part of the gap beyond the highest packet seen is new: below
    // it every packet is held, missing already, or delivered.
    std::uint32_t from = next_seq_;
    if (window_top_ && static_cast<std::int32_t>(*window_top_ + 1 - from) > 0) {
      from = *window_top_ + 1;
    }
    for (std::uint32_t s = from; static_cast<std::int32_t>(seq - s) > 0; ++s) {
      add_missing(s, now);
    }
  }
  if (!window_top_ || static_cast<std::int32_t>(seq - *window_top_) > 0) {
    window_top_ = seq;
  }
  Held h;
  h.location_id = p.location_id;
  h.payload.assign(p.payload.begin(), p.payload.end());
  held_[seq] = std::move(h);
  release_in_order();
  if (held_.size() > reorder_limit(ctx.packet_size)) {
    if (std::optional<Replay> r = skip_lost(now, true, ctx.packet_size)) {
      return Fed{false, r};
    }
  }
  request_resends(now, ctx);
  return Fed{};
}

void UdpReceiveWindow::deliver_held(std::map<std::uint32_t, Held>::iterator it) {
  released_.push_back(std::move(it->second.payload));
  const std::vector<std::uint8_t>& b = released_.back();
  const std::uint32_t location_id = it->second.location_id;
  held_.erase(it);
  sink_->on_deliver(ByteView(b.data(), b.size()), location_id);
}

void UdpReceiveWindow::release_in_order() {
  for (auto it = held_.find(next_seq_); it != held_.end(); it = held_.find(next_seq_)) {
    deliver_held(it);
    forget_missing(next_seq_);
    ++next_seq_;
  }
}

std::optional<UdpReceiveWindow::Replay> UdpReceiveWindow::on_timeout(Instant now,
                                                                     const Context& ctx) {
  if (missing_.empty()) {
    return std::nullopt;
  }
  if (std::optional<Replay> r = skip_lost(now, false, ctx.packet_size)) {
    return r;
  }
  request_resends(now, ctx);
  return std::nullopt;
}

std::optional<UdpReceiveWindow::Replay> UdpReceiveWindow::skip_lost(Instant now, bool force,
                                                                    std::uint32_t packet_size) {
  // Gives up on the oldest missing packet while its deadline has passed (or
  // while the reorder window is over its bound), then hands on what follows.
  while (!missing_.empty()) {
    auto first = missing_.begin();
    const bool expired = now >= first->second + kUdpLossDeadline;
    const bool overflow = force && held_.size() > reorder_limit(packet_size);
    if (!expired && !overflow) {
      break;
    }
    const std::uint32_t lost = first->first;
    if (sink_->may_replay()) {
      return Replay{lost, expired ? "not resent in time" : "reorder window full"};
    }
    forget_missing(lost);
    ++lost_;
    sink_->on_lost(lost);
    MMS_LOG(LogLevel::kInfo, kLog, "UDP packet %u given up", lost);
    std::optional<std::uint32_t> next;
    if (!held_.empty()) {
      next = held_.begin()->first;
    }
    if (!missing_.empty() && (!next || missing_.begin()->first < *next)) {
      next = missing_.begin()->first;
    }
    if (next && *next > next_seq_) {
      next_seq_ = *next;
    } else if (!next && lost >= next_seq_) {
      next_seq_ = lost + 1;
    }
    release_in_order();
  }
  while (missing_.empty() && !held_.empty()) {
    next_seq_ = held_.begin()->first;  // nothing awaited before it any more
    release_in_order();
  }
  return std::nullopt;
}

void UdpReceiveWindow::add_missing(std::uint32_t seq, Instant now) {
  if (missing_.emplace(seq, now).second) {
    unrequested_.insert(seq);
  }
}

void UdpReceiveWindow::forget_missing(std::uint32_t seq) {
  missing_.erase(seq);
  requested_at_.erase(seq);
  unrequested_.erase(seq);  // retry_queue_ entries go stale and are skipped
}

Duration UdpReceiveWindow::resend_retry() const {
  if (!resend_rtt_) {
    return kUdpResendRetry;
  }
  return std::clamp<Duration>(4 * *resend_rtt_, kUdpResendRetryMin, kUdpResendRetry);
}

void UdpReceiveWindow::request_resends(Instant now, const Context& ctx) {
  if (!ctx.can_request || missing_.empty()) {
    return;
  }
  // Packets asked for before whose retry interval has passed (oldest first),
  // then the ones never asked for (lowest first); kMaxResendPackets per
  // request, a few requests at a time.
  std::vector<std::uint32_t> want;
  const std::size_t most = limits::kMaxResendPackets * kMaxResendRequestsAtOnce;
  const Duration retry = resend_retry();
  while (!retry_queue_.empty() && want.size() < most) {
    const auto [at, seq] = retry_queue_.front();
    const auto it = requested_at_.find(seq);
    if (it == requested_at_.end() || it->second.at != at) {
      retry_queue_.pop_front();  // recovered, given up, or asked for again since
      continue;
    }
    if (now < at + retry) {
      break;
    }
    retry_queue_.pop_front();
    it->second.again = true;
    want.push_back(seq);
  }
  while (!unrequested_.empty() && want.size() < most) {
    want.push_back(*unrequested_.begin());
    unrequested_.erase(unrequested_.begin());
  }
  if (want.empty()) {
    return;
  }
  request_round_ = now;
  for (std::uint32_t seq : want) {
    requested_at_[seq].at = now;
    retry_queue_.emplace_back(now, seq);
  }
  for (std::size_t i = 0; i < want.size(); i += limits::kMaxResendPackets) {
    const std::size_t n = std::min(limits::kMaxResendPackets, want.size() - i);
    sink_->on_resend_request(want.data() + i, n);
  }
}

std::optional<Instant> UdpReceiveWindow::next_deadline() const {
  if (missing_.empty()) {
    return std::nullopt;
  }
  Instant d = missing_.begin()->second + kUdpLossDeadline;
  if (!retry_queue_.empty()) {
    d = std::min(d, retry_queue_.front().first + resend_retry());  // may be stale: early, harmless
  }
  if (!unrequested_.empty() && request_round_) {
    d = std::min(d, *request_round_ + kMillisecond);  // more than one round could ask for
  }
  return d;
}

bool UdpReceiveWindow::probe_tail(std::optional<std::uint32_t> last_location,
                                  std::uint64_t packet_count, Instant now, const Context& ctx) {
  std::uint32_t last = last_location ? *last_location : 0;
  std::uint32_t next = next_seq_;
  if (!held_.empty()) {
    last = held_.rbegin()->second.location_id;
    next = held_.rbegin()->first + 1;
  }
  if (!(last_location || !held_.empty()) || packet_count <= std::uint64_t{last} + 1) {
    return false;
  }
  std::uint64_t want = packet_count - last - 1;
  if (want > limits::kMaxResendPackets) {
    want = limits::kMaxResendPackets;
  }
  // A whole batch given up with nothing recovered: the server no longer has
  // those packets (its resend history is bounded); end instead of probing on.
  if (tail_next_set_ && recovered_ == tail_recovered_mark_) {
    return false;
  }
  tail_recovered_mark_ = recovered_;
  // Never ask twice for the same tail packet: a given-up one stays given up.
  if (tail_next_set_ && static_cast<std::int32_t>(tail_next_ - next) > 0) {
    const std::uint32_t skip = tail_next_ - next;
    if (skip >= want) {
      return false;
    }
    want -= skip;
    next = tail_next_;
  }
  bool added = false;
  for (std::uint32_t i = 0; i < static_cast<std::uint32_t>(want); ++i) {
    if (missing_.count(next + i) == 0) {
      add_missing(next + i, now);
      added = true;
    }
  }
  tail_next_ = next + static_cast<std::uint32_t>(want);
  tail_next_set_ = true;
  if (added) {
    request_resends(now, ctx);
  }
  return added;
}

}  // namespace mms::mmst
