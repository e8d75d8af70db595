// RtspClientSession, the play phase (client_session.h): RTP and RTCP from the
// server to the RTP receiver, the ASF packets it completes out as events, the
// end of the stream (EndOfStream request or RTCP BYE), RTCP receiver reports,
// and the timers and flow control of a play. The RTSP dialogue that sets the
// play up is in client_session.cpp.
#include <algorithm>
#include <utility>

#include "protocol/core/log.h"
#include "protocol/rtsp/client_session.h"
#include "protocol/rtsp/rtcp.h"

namespace mms::rtsp {
namespace {

constexpr const char* kLog = "rtsp-client";

}  // namespace

// --- RTP ------------------------------------------------------------------------

// RTCP from the server: only BYE matters. `stream`: the stream whose
// interleaved RTCP channel carried it (TCP); over UDP the BYE's SSRCs say.
void RtspClientSession::handle_rtcp(std::optional<std::size_t> stream, ByteView packet,
                                    Instant now) {
  receiver_.take_sender_reports(packet, now);
  if (state_ != State::kPlaying) {
    return;  // a BYE before a PLAY's reply belongs to the flow that PLAY replaces
  }
  for (std::size_t k : receiver_.bye_streams(stream, packet)) {
    MMS_LOG(LogLevel::kDebug, kLog, "%s <- RTCP BYE for stream %zu", transport_name(), k);
    stream_bye(k, now);
    if (state_ != State::kPlaying) {
      return;
    }
  }
}

// The server ended stream `stream` (RTCP BYE); the play ends with the last one.
void RtspClientSession::stream_bye(std::size_t stream, Instant now) {
  receiver_.streams()[stream].bye = true;
  for (const RtpStream& s : receiver_.streams()) {
    if (!s.bye) {
      return;
    }
  }
  if (eos_pending_) {
    return;  // the EndOfStream request came first and decides
  }
  if (!udp_) {
    finish_eos(now);  // the BYE follows the last RTP on the connection
    return;
  }
  eos_pending_ = true;
  eos_by_bye_ = true;
  bye_at_ = now;
  eos_deadline_ = now + kByeQuietWait;
}

void RtspClientSession::handle_rtp(std::size_t stream, ByteView packet, Instant now) {
  if (state_ == State::kPlayWait) {
    // Not answered yet: hold (a seek's old flow is filtered by RTP-Info later).
    receiver_.hold(stream, packet);
    return;
  }
  if (state_ != State::kPlaying) {
    return;
  }
  receiver_.push(stream, packet, now);
}

void RtspClientSession::release_held(Instant now) {
  const std::deque<RtpReceiver::Held> held = receiver_.take_held();
  for (const RtpReceiver::Held& h : held) {
    if (state_ != State::kPlaying) {
      break;
    }
    receiver_.push(h.stream, ByteView(h.bytes.data(), h.bytes.size()), now);
  }
}

// An RTP packet of this play reached a depayloader (rtp_receiver.h).
void RtspClientSession::on_depayloaded(std::size_t, std::vector<DepayPacket>* packets,
                                       Instant now) {
  if (!rtp_seen_) {
    rtp_seen_ = true;
    udp_wait_since_.reset();
  }
  touch(now);
  for (DepayPacket& p : *packets) {
    if (p.data.empty() || p.data.size() > gate_.info().packet_size) {
      discont_pending_ = true;
      continue;
    }
    emit_packet(std::move(p.data), p.discont);
  }
  if (eos_pending_) {
    if (eos_by_bye_) {
      // RTP still coming after the BYE: wait for quiet, within the bound.
      eos_deadline_ = std::min(now + kByeQuietWait, bye_at_ + kEosDrainWait);
    }
    maybe_finish_eos(now, false);
  }
}
void RtspClientSession::emit_packet(std::vector<std::uint8_t> data, bool discont) {
  released_.push_back(std::move(data));
  const std::vector<std::uint8_t>& b = released_.back();
  session::Event e;
  e.kind = session::Event::Kind::kPacket;
  e.payload = ByteView(b.data(), b.size());
  e.packet_number = packet_number_;
  e.discont = discont || discont_pending_;
  discont_pending_ = false;
  if (inflated_count_ == 0 || std::uint64_t{packet_number_} + 1 < inflated_count_) {
    ++packet_number_;
  }
  events_.push_back(std::move(e));
}

void RtspClientSession::maybe_finish_eos(Instant now, bool force) {
  if (!eos_pending_) {
    return;
  }
  // While throttled nothing is read: the deadline waits for the reading to resume.
  const bool deadline_passed = eos_deadline_ && now >= *eos_deadline_ && !throttled_;
  if (eos_by_bye_) {
    if (force || deadline_passed) {
      finish_eos(now);
    }
    return;
  }
  bool all = true;
  for (const RtpStream& s : receiver_.streams()) {
    if (!s.eos_seq) {
      continue;  // no RTP-Info for it: the deadline decides
    }
    const auto last = static_cast<std::uint16_t>(*s.eos_seq - 1);
    if (s.last_seq) {
      all = all && seq_at_or_after(*s.last_seq, last);
    } else {
      all = all && s.play_seq && *s.play_seq == *s.eos_seq;  // nothing was to come
    }
  }
  if (!force && !all && deadline_passed && udp_) {
    // The server said where the stream ends and the last packets never came:
    // not an end but a loss. Failing as a lost connection lets the rollover
    // reconnect and resume at the next undelivered packet (or report it).
    fail(Status(Code::kConnectionLost, "the last RTP packets of the stream did not arrive"));
    return;
  }
  if (force || all || deadline_passed) {
    finish_eos(now);
  }
}

void RtspClientSession::finish_eos(Instant now) {
  eos_pending_ = false;
  receiver_.flush(now);  // what still waits for a missing packet goes out first
  eos_by_bye_ = false;
  eos_deadline_.reset();
  keepalive_at_.reset();
  udp_wait_since_.reset();
  state_ = State::kDone;
  session::Event e;
  e.kind = session::Event::Kind::kEos;
  events_.push_back(std::move(e));
}

// --- timers and flow control -----------------------------------------------------

bool RtspClientSession::seekable() const {
  if (!gate_.known() || live()) {
    return false;
  }
  if (sdp_.range && sdp_.range->end_ms) {
    return true;
  }
  return gate_.info().duration_ns() > 0;
}

// Counts an RTP datagram on arrival for the receiver reports (RFC 3550 A.1:
// extended highest sequence number, packets received). A report goes out
// kRtcpReportEvery datagrams after the last one, or kRtcpReportDelay after the
// first unreported one, besides the periodic one.
void RtspClientSession::count_received(std::size_t stream, ByteView packet, Instant now) {
  if (!receiver_.count_received(stream, packet)) {
    return;
  }
  if (server_rtcp_port_ == 0) {
    return;
  }
  rr_bytes_ += packet.size();
  if (rr_pending_++ == 0) {
    rr_due_ = std::max(now + kRtcpReportDelay, rr_last_at_ + rr_min_interval_);
  }
  if (rr_pending_ >= kRtcpReportEvery) {
    send_receiver_report(now);
  }
}

// RR with a report block per source heard from, then SDES CNAME (RFC 3550
// 6.1: a compound packet starts with a report and carries a CNAME).
void RtspClientSession::send_receiver_report(Instant now) {
  // The next interval's reduced minimum, from this one's rate (none received: the full one).
  const Duration elapsed = std::max<Duration>(now - rr_last_at_, 0);
  rr_min_interval_ = rr_bytes_ == 0 ? kReceiverReportInterval
                                    : static_cast<Duration>(std::min<double>(
                                          static_cast<double>(kReceiverReportInterval),
                                          static_cast<double>(elapsed) * kRtcpReducedIntervalBytes /
                                              static_cast<double>(rr_bytes_)));
  rr_last_at_ = now;
  rr_bytes_ = 0;
  rr_pending_ = 0;
  rr_due_.reset();
  const session::ChannelId ch =
      ports_.rtcp_channel() != 0 ? ports_.rtcp_channel() : ports_.media_channel();
  if (!udp_ || server_rtcp_port_ == 0 || ch == 0) {
    return;
  }
  std::uint32_t own_ssrc = 2166136261u;  // FNV-1a of the client GUID: stable per session
  for (char c : config_.client_guid) {
    own_ssrc = (own_ssrc ^ static_cast<std::uint8_t>(c)) * 16777619u;
  }
  const std::vector<ReportBlock> blocks = receiver_.report_blocks(now);
  if (blocks.empty()) {
    return;
  }
  std::vector<std::uint8_t> p;
  write_receiver_report(own_ssrc, blocks, "gst-mms", &p);
  session::IoAction a;
  a.kind = session::IoAction::Kind::kSendTo;
  a.channel = ch;
  a.host = current_url_.host;
  a.port = server_rtcp_port_;
  a.bytes.assign(p.begin(), p.end());
  actions_.push_back(std::move(a));
  ++reports_sent_;
  report_at_ = now + kReceiverReportInterval;
}

Duration RtspClientSession::keepalive_interval() const {
  return std::max<Duration>(kMinKeepaliveInterval, Duration{session_timeout_s_} * kSecond / 2);
}

void RtspClientSession::on_throttle(bool paused, Instant now) {
  // released_ stays: events still queued may point into it.
  throttled_ = paused;
  receiver_.set_throttled(paused, now);
  if (paused && keep_reading_when_throttled() && state_ == State::kPlaying && !eos_pending_ &&
      tcp_ != 0) {
    send_request(make_request("PAUSE", aggregate_), Sent::kPause, 0, now);
    paused_server_ = true;
  } else if (!paused && paused_server_ && state_ == State::kPlaying) {
    send_play(false, now);  // resumes after the last datagram sent before the PAUSE
  }
  if (!paused) {
    touch(now);
    if (udp_wait_since_) {
      udp_wait_since_ = now;
    }
    if (eos_pending_ && eos_deadline_ && *eos_deadline_ < now + kByeQuietWait) {
      eos_deadline_ = now + kByeQuietWait;  // what queued up meanwhile is read first
    }
  }
}

void RtspClientSession::on_timeout(Instant now) {
  released_.clear();
  if (state_ == State::kFailed || state_ == State::kDone) {
    return;
  }
  if (udp_ && udp_wait_since_ && !rtp_seen_ && !throttled_ && config_.udp_timeout > 0 &&
      now >= *udp_wait_since_ + config_.udp_timeout) {
    send_teardown();
    fail(Status(Code::kTimedOut, "no RTP over UDP"));
    return;
  }
  receiver_.expire(now);
  if (eos_pending_) {
    maybe_finish_eos(now, false);
    if (state_ == State::kDone) {
      return;
    }
  }
  if (rr_due_ && now >= *rr_due_) {
    send_receiver_report(now);
  }
  if (keepalive_at_ && now >= *keepalive_at_) {
    send_keepalive(now);
    keepalive_at_ = now + keepalive_interval();
  }
  if (report_at_ && now >= *report_at_) {
    send_receiver_report(now);
    report_at_ = now + kReceiverReportInterval;
  }
  std::optional<Instant> idle = idle_deadline();
  if (idle && now >= *idle) {
    const bool setup = state_ != State::kPlaying && state_ != State::kWaitEntry;
    fail(Status(Code::kTimedOut, setup ? "the RTSP server did not answer in time"
                                       : "no data from the server in time"));
  }
}

std::optional<Instant> RtspClientSession::idle_deadline() const {
  if (throttled_ || config_.timeout <= 0) {
    return std::nullopt;
  }
  if (state_ == State::kOptions && !first_reply_seen_ && config_.first_reply_timeout > 0 &&
      config_.first_reply_timeout < config_.timeout) {
    return last_activity_ + config_.first_reply_timeout;
  }
  switch (state_) {
    case State::kBinding:
    case State::kConnecting:
    case State::kOptions:
    case State::kDescribe:
    case State::kSetup:
    case State::kPlayWait:
    case State::kPlaying:
      return last_activity_ + config_.timeout;
    case State::kWaitEntry:
      return last_activity_ + config_.timeout * kEntryChangeTimeoutFactor;
    default:
      return std::nullopt;
  }
}

std::optional<Instant> RtspClientSession::next_deadline() const {
  if (state_ == State::kFailed || state_ == State::kDone) {
    return std::nullopt;
  }
  std::optional<Instant> d = idle_deadline();
  auto consider = [&d](Instant t) {
    if (!d || t < *d) {
      d = t;
    }
  };
  if (udp_ && udp_wait_since_ && !rtp_seen_ && !throttled_ && config_.udp_timeout > 0) {
    consider(*udp_wait_since_ + config_.udp_timeout);
  }
  if (eos_pending_ && eos_deadline_ && !throttled_) {
    consider(*eos_deadline_);
  }
  if (std::optional<Instant> r = receiver_.deadline()) {
    consider(*r);
  }
  if (keepalive_at_) {
    consider(*keepalive_at_);
  }
  if (report_at_) {
    consider(*report_at_);
  }
  if (rr_due_) {
    consider(*rr_due_);
  }
  return d;
}

}  // namespace mms::rtsp
