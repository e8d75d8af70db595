#include "protocol/rtsp/rtp_receiver.h"

#include <algorithm>
#include <utility>

#include "protocol/core/log.h"

namespace mms::rtsp {
namespace {

constexpr const char* kLog = "rtsp-client";

std::uint32_t be32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}

// Calls on_bye(ssrc) for every source a BYE packet names; returns whether a
// BYE was seen.
template <typename OnBye>
bool for_each_bye(ByteView packet, OnBye on_bye) {
  bool seen = false;
  for_each_rtcp(packet, [&](const std::uint8_t* p, std::size_t len) {
    if (p[1] != kRtcpBye) {
      return;
    }
    seen = true;
    const std::size_t count = p[0] & 0x1fu;
    for (std::size_t i = 0; i < count && 8 + 4 * i <= len; ++i) {
      on_bye(be32(p + 4 + 4 * i));
    }
  });
  return seen;
}

// Calls on_sr(ssrc, lsr) for every sender report; lsr is the middle 32 bits
// of its NTP timestamp.
template <typename OnSr>
void for_each_sender_report(ByteView packet, OnSr on_sr) {
  for_each_rtcp(packet, [&](const std::uint8_t* p, std::size_t len) {
    if (p[1] == kRtcpSenderReport && len >= 28) {
      on_sr(be32(p + 4), be32(p + 10));
    }
  });
}

}  // namespace

void RtpReceiver::set_streams(std::size_t count, std::uint32_t max_packet_size) {
  streams_.clear();
  streams_.resize(count);
  set_max_packet_size(max_packet_size);
}

void RtpReceiver::set_max_packet_size(std::uint32_t max_packet_size) {
  for (RtpStream& s : streams_) {
    s.depay.set_max_packet_size(max_packet_size);
  }
}

void RtpReceiver::start_play() {
  for (RtpStream& s : streams_) {
    s.play_seq.reset();
    s.last_seq.reset();
    s.eos_seq.reset();
    s.bye = false;
    s.next_rtp.reset();
    s.early.clear();  // the flow this PLAY replaces
  }
}

void RtpReceiver::expect(std::size_t stream, std::uint16_t seq) {
  if (stream >= streams_.size()) {
    return;
  }
  streams_[stream].play_seq = seq;
  streams_[stream].depay.expect_seq(seq);
}

std::optional<std::size_t> RtpReceiver::stream_for_ssrc(ByteView datagram) {
  Result<RtpHeader> h = parse_rtp(datagram);
  if (!h.ok()) {
    return std::nullopt;
  }
  for (std::size_t k = 0; k < streams_.size(); ++k) {
    if (streams_[k].ssrc && *streams_[k].ssrc == h->ssrc) {
      return k;
    }
  }
  for (std::size_t k = 0; k < streams_.size(); ++k) {
    if (!streams_[k].ssrc) {
      streams_[k].ssrc = h->ssrc;  // a reply without ssrc: the first unknown one is its
      return k;
    }
  }
  return std::nullopt;
}

std::optional<std::size_t> RtpReceiver::stream_for_channel(std::uint8_t rtp_channel) const {
  for (std::size_t k = 0; k < streams_.size(); ++k) {
    if (streams_[k].channel == rtp_channel) {
      return k;
    }
  }
  return std::nullopt;
}

void RtpReceiver::hold(std::size_t stream, ByteView packet) {
  if (held_.size() >= kMaxHeldRtpPackets) {
    held_.pop_front();
  }
  Held h;
  h.stream = stream;
  h.bytes = packet.to_vector();
  held_.push_back(std::move(h));
}

std::deque<RtpReceiver::Held> RtpReceiver::take_held() {
  std::deque<Held> held;
  held.swap(held_);
  return held;
}

// UDP: RTP goes to the depayloader in sequence order. A packet ahead of the
// next expected one waits (kRtpReorderWait, kMaxRtpReorderPackets) for the
// missing ones; older ones (late, duplicates, a replaced flow) go straight on
// and the depayloader drops them.
void RtpReceiver::push(std::size_t stream, ByteView packet, Instant now) {
  if (!udp_ || stream >= streams_.size()) {
    depayload(stream, packet, now);
    return;
  }
  Result<RtpHeader> h = parse_rtp(packet);
  if (!h.ok()) {
    return;
  }
  RtpStream& s = streams_[stream];
  if (!s.next_rtp) {
    if (s.play_seq && !seq_at_or_after(h->seq, *s.play_seq)) {
      depayload(stream, packet, now);  // older than this PLAY: dropped there
      return;
    }
    s.next_rtp = s.play_seq ? *s.play_seq : h->seq;
  }
  const auto ahead = [&s](std::uint16_t seq) {
    return static_cast<std::int16_t>(static_cast<std::uint16_t>(seq - *s.next_rtp));
  };
  if (ahead(h->seq) < 0) {
    depayload(stream, packet, now);
    return;
  }
  if (ahead(h->seq) == 0) {
    s.next_rtp = static_cast<std::uint16_t>(h->seq + 1);
    depayload(stream, packet, now);
    release_early(stream, now);
    return;
  }
  for (const RtpStream::Early& e : s.early) {
    if (e.seq == h->seq) {
      return;  // a duplicate of one already waiting
    }
  }
  RtpStream::Early e;
  e.seq = h->seq;
  e.at = now;
  e.bytes = packet.to_vector();
  s.early.push_back(std::move(e));
  const std::uint16_t seq = h->seq;
  while (!streams_[stream].early.empty() &&
         (streams_[stream].early.size() > kMaxRtpReorderPackets ||
          static_cast<std::int16_t>(static_cast<std::uint16_t>(seq - *streams_[stream].next_rtp)) >=
              static_cast<int>(kMaxRtpReorderPackets))) {
    give_up_gap(stream, now);  // too many waiting, or too far ahead to wait
  }
}

// Hands on the waiting packets that are next in sequence.
void RtpReceiver::release_early(std::size_t stream, Instant now) {
  for (;;) {
    RtpStream& s = streams_[stream];
    if (!s.next_rtp) {
      return;
    }
    auto it = std::find_if(s.early.begin(), s.early.end(),
                           [&s](const RtpStream::Early& e) { return e.seq == *s.next_rtp; });
    if (it == s.early.end()) {
      return;
    }
    const std::vector<std::uint8_t> bytes = std::move(it->bytes);
    s.early.erase(it);
    s.next_rtp = static_cast<std::uint16_t>(*s.next_rtp + 1);
    depayload(stream, ByteView(bytes.data(), bytes.size()), now);  // may flush s.early
  }
}

// The oldest gap of `stream` is loss: the depayloader gets the first waiting
// packet after it (and flags DISCONT) and whatever follows in sequence.
void RtpReceiver::give_up_gap(std::size_t stream, Instant now) {
  RtpStream& s = streams_[stream];
  if (s.early.empty() || !s.next_rtp) {
    return;
  }
  const std::uint16_t from = *s.next_rtp;
  auto first = std::min_element(
      s.early.begin(), s.early.end(), [from](const RtpStream::Early& a, const RtpStream::Early& b) {
        return static_cast<std::uint16_t>(a.seq - from) < static_cast<std::uint16_t>(b.seq - from);
      });
  MMS_LOG(LogLevel::kDebug, kLog, "stream %zu: RTP %u-%u missing, given up", stream, from,
          static_cast<unsigned>(static_cast<std::uint16_t>(first->seq - 1)));
  s.next_rtp = first->seq;
  release_early(stream, now);
}

void RtpReceiver::flush(Instant now) {
  for (std::size_t k = 0; k < streams_.size(); ++k) {
    while (!streams_[k].early.empty()) {
      give_up_gap(k, now);
    }
  }
}

// Gaps that waited kRtpReorderWait are loss (not while throttled: the missing
// packet may be unread in the socket buffer).
void RtpReceiver::expire(Instant now) {
  if (throttled_) {
    return;
  }
  for (std::size_t k = 0; k < streams_.size(); ++k) {
    for (;;) {
      const std::vector<RtpStream::Early>& early = streams_[k].early;
      auto oldest = std::min_element(
          early.begin(), early.end(),
          [](const RtpStream::Early& a, const RtpStream::Early& b) { return a.at < b.at; });
      if (oldest == early.end() || now < oldest->at + kRtpReorderWait) {
        break;
      }
      give_up_gap(k, now);
    }
  }
}

std::optional<Instant> RtpReceiver::deadline() const {
  std::optional<Instant> d;
  if (throttled_) {
    return d;
  }
  for (const RtpStream& s : streams_) {
    for (const RtpStream::Early& e : s.early) {
      if (!d || e.at + kRtpReorderWait < *d) {
        d = e.at + kRtpReorderWait;
      }
    }
  }
  return d;
}

void RtpReceiver::set_throttled(bool throttled, Instant now) {
  throttled_ = throttled;
  if (!throttled) {
    for (RtpStream& s : streams_) {
      for (RtpStream::Early& e : s.early) {
        e.at = now;  // the missing packets may be queued unread: a full wait again
      }
    }
  }
}

void RtpReceiver::depayload(std::size_t stream, ByteView packet, Instant now) {
  if (stream >= streams_.size()) {
    return;
  }
  RtpStream& s = streams_[stream];
  Result<RtpHeader> h = parse_rtp(packet);
  if (!h.ok()) {
    return;
  }
  if (s.play_seq && !s.last_seq && !seq_at_or_after(h->seq, *s.play_seq)) {
    return;  // older than this PLAY
  }
  std::vector<DepayPacket> out;
  if (!s.depay.push(packet, &out).ok()) {
    return;
  }
  if (!s.last_seq || seq_at_or_after(h->seq, *s.last_seq)) {
    s.last_seq = h->seq;
  }
  sink_->on_depayloaded(stream, &out, now);
}

// Counts an RTP datagram on arrival for the receiver reports (RFC 3550 A.1:
// extended highest sequence number, packets received).
bool RtpReceiver::count_received(std::size_t stream, ByteView packet) {
  if (packet.size() < kRtpHeaderSize || stream >= streams_.size()) {
    return false;
  }
  const auto seq = static_cast<std::uint16_t>(packet[2] << 8 | packet[3]);
  RtpStream::Reception& rx = streams_[stream].rx;
  if (!rx.started) {
    rx.started = true;
    rx.base_seq = seq;
    rx.max_seq = seq;
    rx.received = 1;
  } else {
    const auto delta = static_cast<std::uint16_t>(seq - rx.max_seq);
    if (delta != 0 && delta < 0x8000) {  // in order, maybe with a gap
      if (seq < rx.max_seq) {
        rx.cycles += 65536;
      }
      rx.max_seq = seq;
    }
    ++rx.received;
  }
  return true;
}

void RtpReceiver::take_sender_reports(ByteView packet, Instant now) {
  for_each_sender_report(packet, [&](std::uint32_t ssrc, std::uint32_t lsr) {
    for (RtpStream& st : streams_) {
      if (st.ssrc && *st.ssrc == ssrc) {
        st.rx.lsr = lsr;  // echoed in our next receiver report (round-trip time)
        st.rx.sr_at = now;
      }
    }
  });
}

std::vector<ReportBlock> RtpReceiver::report_blocks(Instant now) {
  std::vector<ReportBlock> blocks;
  for (RtpStream& st : streams_) {
    RtpStream::Reception& rx = st.rx;
    if (!st.ssrc || !rx.started || blocks.size() == kMaxReportBlocks) {
      continue;
    }
    ReportBlock b;
    b.ssrc = *st.ssrc;
    b.highest_seq = rx.cycles + rx.max_seq;
    const std::uint32_t expected = b.highest_seq - rx.base_seq + 1;
    // A signed 24-bit field (RFC 3550 6.4.1): clamped, duplicates make it negative.
    b.cumulative_lost = static_cast<std::int32_t>(
        std::clamp<std::int64_t>(std::int64_t{expected} - rx.received, -0x800000, 0x7FFFFF));
    const std::uint32_t expected_interval = expected - rx.expected_prior;
    const std::uint32_t received_interval = rx.received - rx.received_prior;
    rx.expected_prior = expected;
    rx.received_prior = rx.received;
    const std::int64_t lost_interval = std::int64_t{expected_interval} - received_interval;
    b.fraction_lost = expected_interval == 0 || lost_interval <= 0
                          ? 0
                          : static_cast<std::uint8_t>(std::min<std::int64_t>(
                                255, (lost_interval << 8) / expected_interval));
    if (rx.lsr != 0 && now > rx.sr_at) {
      // Units of 1/65536 s, at most 65535 s (no overflow of the product).
      const std::int64_t since = std::min<std::int64_t>(now - rx.sr_at, 65535 * kSecond);
      b.delay_since_last_sr = static_cast<std::uint32_t>(since * 65536 / kSecond);
    }
    b.last_sr = rx.lsr;
    blocks.push_back(b);
  }
  return blocks;
}

std::vector<std::size_t> RtpReceiver::bye_streams(std::optional<std::size_t> stream,
                                                  ByteView packet) const {
  std::vector<std::size_t> ended;
  const bool bye = for_each_bye(packet, [&](std::uint32_t ssrc) {
    for (std::size_t k = 0; k < streams_.size() && !stream; ++k) {
      if (streams_[k].ssrc && *streams_[k].ssrc == ssrc &&
          std::find(ended.begin(), ended.end(), k) == ended.end()) {
        ended.push_back(k);
      }
    }
  });
  if (stream && bye && *stream < streams_.size()) {
    ended.push_back(*stream);
  }
  return ended;
}

}  // namespace mms::rtsp
