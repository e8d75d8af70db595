// MmstClientSession, the play phase (client_session.h): media Data packets out
// as events (over UDP through the UdpReceiveWindow), resend requests, playing
// again after a loss, the end of the stream, and back-pressure (pausing and
// resuming the server). The MMS dialogue that sets the play up, the header and
// the timers are in client_session.cpp.
#include <utility>

#include "protocol/core/log.h"
#include "protocol/mmst/client_session.h"

namespace mms::mmst {
namespace {

constexpr const char* kLog = "mmst-client";

}  // namespace

// --- media ----------------------------------------------------------------------

void MmstClientSession::handle_media(const DataPacket& p, bool from_udp, Instant now) {
  if (from_udp) {
    // Packets that are dropped (stale play, paused, below the resume floor)
    // still advance the server's counter.
    window_.note(p, all_selected_ && !live());
  }
  if (throttle_grace_over(now)) {
    pause_server();  // the consumer stays stalled: this packet is in flight after StopPlaying
  }
  if (p.play_incarnation != play_inc_ || !gate_.known()) {
    return;  // stale: a seek or resume superseded it
  }
  if (p.payload.size() > gate_.info().packet_size) {
    fail(Status(Code::kMalformed, "data packet larger than the ASF packet size",
                static_cast<std::uint32_t>(p.payload.size())));
    return;
  }
  if (stop_sent_ || state_ == State::kPaused) {
    return;  // in flight after our StopPlaying: resumed later from the next packet
  }
  if (throttled_ && !throttle_grace_until_) {
    if (!live()) {
      // On-demand content while the consumer is full, the throttle having
      // come before the play started (a reconnect during a long pause, the
      // queue still full of a Fast Start burst): pause now; this packet comes
      // again when the play resumes.
      pause_server();
      return;
    }
    // A broadcast while the consumer is full: drop, flag the gap.
    discont_pending_ = true;
    return;
  }
  if (resume_floor_active_ && p.location_id < resume_floor_) {
    return;  // already delivered before the pause
  }
  if (from_udp) {
    handle_udp_media(p, now);
  } else {
    emit_packet(p.payload, p.location_id);
  }
}

void MmstClientSession::emit_packet(ByteView payload, std::uint32_t location_id) {
  if (!announced_) {
    announced_ = true;  // media flows on this transport
    session::Event c;
    c.kind = session::Event::Kind::kConnected;
    c.detail = transport_name();
    events_.push_back(std::move(c));
  }
  media_seen_ = true;
  if (throttle_grace_until_) {
    throttle_bytes_ += payload.size();
  }
  session::Event e;
  e.kind = session::Event::Kind::kPacket;
  e.payload = payload;
  e.packet_number = location_id;
  e.discont = discont_pending_;
  discont_pending_ = false;
  last_location_ = location_id;
  events_.push_back(std::move(e));
}

// --- UDP data -------------------------------------------------------------------

UdpReceiveWindow::Context MmstClientSession::window_context() const {
  UdpReceiveWindow::Context c;
  c.every_packet = all_selected_ && !live();
  c.packet_size = gate_.info().packet_size;
  c.can_request = udp_ch_ != 0;
  return c;
}

void MmstClientSession::handle_udp_media(const DataPacket& p, Instant now) {
  UdpReceiveWindow::Fed fed = window_.feed(p, now, window_context());
  if (fed.replay) {
    replay(fed.replay->seq, fed.replay->why, now);
  } else if (!fed.duplicate) {
    maybe_finish_eos(now);
  }
}

void MmstClientSession::send_resend_request(const std::uint32_t* seqs, std::size_t n) {
  RequestPacketListResend r;
  r.dw_client_id = client_id_;
  r.w_source_id = static_cast<std::uint16_t>(open_file_id_ & 0xFFFFu);
  r.dw_begin_packet_list.assign(seqs, seqs + n);
  std::vector<std::uint8_t> out;
  if (!encode_resend(r, &out).ok()) {
    return;
  }
  ++resend_requests_;
  MMS_LOG(LogLevel::kDebug, kLog, "requesting %zu resend(s) from %u", r.dw_begin_packet_list.size(),
          r.dw_begin_packet_list.front());
  session::IoAction a;
  a.kind = session::IoAction::Kind::kSendTo;
  a.channel = udp_ch_;
  a.host = current_url_.host;
  a.port = current_url_.port != 0 ? current_url_.port : std::uint16_t{1755};
  a.bytes.assign(out.begin(), out.end());
  actions_.push_back(std::move(a));
}

// --- loss and the end ------------------------------------------------------------

bool MmstClientSession::replay_possible() const {
  if (!udp_ || live() || tcp_ == 0 || state_ != State::kStreaming ||
      (throttled_ && !throttle_grace_until_) || stop_sent_) {
    return false;
  }
  const std::optional<std::uint32_t> from =
      last_location_ ? std::optional<std::uint32_t>(*last_location_ + 1) : std::nullopt;
  return !(from == replay_from_ && replays_in_row_ >= kMaxUdpReplays);
}

void MmstClientSession::replay(std::uint32_t lost, const char* why, Instant now) {
  // As after a pause: everything before `from` was delivered, the held
  // packets after the gap come again with the new incarnation.
  const std::optional<std::uint32_t> from =
      last_location_ ? std::optional<std::uint32_t>(*last_location_ + 1) : std::nullopt;
  replays_in_row_ = from == replay_from_ ? replays_in_row_ + 1 : 1;
  replay_from_ = from;
  ++replays_;
  MMS_LOG(LogLevel::kInfo, kLog, "UDP packet %u lost (%s): playing again from packet %u", lost, why,
          from.value_or(0));
  if (from) {
    resume_floor_ = *from;
    resume_floor_active_ = true;
  }
  send_start(now, from);
}

void MmstClientSession::finish_eos(Instant now) {
  if (udp_ && !live() && all_selected_ && gate_.known() && !window_.sequence_known() &&
      gate_.info().data_packets_count > (last_location_ ? std::uint64_t{*last_location_} + 1 : 0)) {
    // The end of a play none of whose datagrams arrived (they were all lost
    // on the way: a blackout longer than a Fast Start burst), with packets of
    // the file still missing. No sequence is known to probe the tail with:
    // play again from the next packet, and when that keeps failing, give the
    // connection up so that a reconnect resumes there. Never a short EOS.
    const std::uint32_t next = last_location_ ? *last_location_ + 1 : 0;
    if (replay_possible()) {
      replay(next, "the play ended before any of its packets arrived", now);
      return;
    }
    fail(Status(Code::kConnectionLost, "UDP data lost: the play ended with packets missing", next));
    return;
  }
  eos_pending_ = true;
  tail_probe_ = false;
  window_.start_tail();
  if (udp_ && !live() && all_selected_ && gate_.known() && window_.sequence_known()) {
    // Lost packets at the very end leave no gap to notice: ask for the packets
    // that should still come (every stream is selected, so packet numbers are
    // consecutive) before ending, a bounded batch at a time.
    tail_probe_ = true;
  }
  maybe_finish_eos(now);
}

void MmstClientSession::maybe_finish_eos(Instant now) {
  if (!eos_pending_ || !window_.idle()) {
    return;
  }
  if (tail_probe_ &&
      window_.probe_tail(last_location_, gate_.info().data_packets_count, now, window_context())) {
    return;  // the next batch of the tail is on its way (or given up in time)
  }
  eos_pending_ = false;
  tail_probe_ = false;
  state_ = State::kDone;
  if (udp_) {
    MMS_LOG(LogLevel::kInfo, kLog,
            "UDP: %u resend requests, %u packets recovered, %u lost, %u replays", resend_requests_,
            window_.recovered(), window_.lost(), replays_);
  }
  session::Event e;
  e.kind = session::Event::Kind::kEos;
  events_.push_back(std::move(e));
}

// --- back-pressure ---------------------------------------------------------------

void MmstClientSession::on_throttle(bool paused, Instant now) {
  // The window's storage stays: events still queued may point into it.
  throttled_ = paused;
  if (state_ == State::kFailed || state_ == State::kDone || tcp_ == 0) {
    return;
  }
  if (paused) {
    if (!live() && udp_ && state_ == State::kStreaming) {
      // Over UDP a pause throws away everything in flight (the socket buffer
      // holds megabytes; the server sends it again after StartPlaying): a
      // short stall of the consumer is absorbed first (delivery goes on).
      throttle_grace_until_ = now + kUdpThrottleGrace;
      throttle_bytes_ = 0;
      return;
    }
    pause_server();
    return;
  }
  if (throttle_grace_until_) {
    throttle_grace_until_.reset();  // the stall ended within the grace: never paused
    return;
  }
  touch(now);
  if (state_ == State::kPaused) {
    stop_sent_ = false;
    if (last_location_) {
      resume_floor_ = *last_location_ + 1;
      resume_floor_active_ = true;
      send_start(now, resume_floor_);
    } else {
      send_start(now, std::nullopt);
    }
  } else if (udp_) {
    window_.restart_sequence();  // broadcast: restart sequencing after the drop
  }
}

void MmstClientSession::pause_server() {
  throttle_grace_until_.reset();
  if (live() || (state_ != State::kStreaming && state_ != State::kAwaitStarted)) {
    return;
  }
  // On-demand: pause the server; pings keep flowing on the control connection.
  Message m = make_message(kLinkViewerToMacStopPlaying);
  m.stop_playing.open_file_id = open_file_id_;
  m.stop_playing.play_incarnation = play_inc_;
  send(&m);
  stop_sent_ = true;
  state_ = State::kPaused;
  window_.clear();
  eos_pending_ = false;
}

bool MmstClientSession::throttle_grace_over(Instant now) const {
  return throttle_grace_until_ &&
         (now >= *throttle_grace_until_ || throttle_bytes_ >= kUdpThrottleSlackBytes);
}

}  // namespace mms::mmst
