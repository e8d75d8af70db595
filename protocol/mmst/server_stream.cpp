// MMS server session, streaming half: StartPlaying/StopPlaying (start point,
// live join), paced Data packets, end of entry and stream change, UDP resend
// requests. The connection, handshake and other commands are in
// protocol/mmst/server_session.cpp; see server_session.h for the contract and
// docs/protocols/mmsp-reference.md (§4.4 seeking, §4.6 live, §4.8 playlists, §5 UDP).
#include <algorithm>
#include <cmath>
#include <utility>

#include "protocol/asf/packet.h"
#include "protocol/core/log.h"
#include "protocol/mmst/server_session.h"

namespace mms::mmst {
namespace {

constexpr const char* kLog = "mmst-server";

}  // namespace

// ---------------------------------------------------------------------------
// Starting and stopping

std::uint32_t ServerSession::back_to_key(std::uint32_t packet) const {
  return content_->key_at_or_before(packet);
}

std::uint32_t ServerSession::choose_start(const StartPlaying& sp, bool* beyond_end) const {
  *beyond_end = false;
  const std::uint32_t count = content_->packet_count();
  if (count == 0) {
    *beyond_end = true;
    return 0;
  }
  // Precedence (docs/protocols/mmsp-reference.md §2.15): locationId, asfOffset, position.
  if (sp.location_id != kOffsetUnused && sp.location_id != 0) {
    if (sp.location_id >= count) {
      *beyond_end = true;
      return count;
    }
    return sp.location_id;
  }
  if (sp.asf_offset != kOffsetUnused && sp.asf_offset != 0) {
    const std::uint64_t header = content_->layout().first_packet;
    const std::uint64_t off = sp.asf_offset;
    const std::uint64_t packet = off >= header ? (off - header) / content_->packet_size() : 0;
    if (packet >= count) {
      *beyond_end = true;
      return count;
    }
    return static_cast<std::uint32_t>(packet);
  }
  if (!(sp.position > 0.0) || sp.position >= kPositionUseOffsets || std::isnan(sp.position)) {
    return 0;
  }
  // Presentation time including the preroll (libmms adds it).
  const double ms = sp.position * 1000.0;
  const std::uint64_t end_ms = std::uint64_t{content_->duration_ms()} + content_->info().preroll_ms;
  if (ms >= static_cast<double>(end_ms)) {
    *beyond_end = true;
    return count;
  }
  return content_->start_for_presentation(static_cast<std::uint64_t>(ms));
}

void ServerSession::on_start_playing(const Message& m, Instant now) {
  const StartPlaying& sp = m.start_playing;
  if (!content_ || state_ == State::kConnected) {
    Message r = make_message(kLinkMacToViewerReportStartedPlaying);
    r.report_started_playing.hr = kNsEInvalidRequest;
    r.report_started_playing.play_incarnation = sp.play_incarnation;
    send(&r);
    return;
  }
  if (sp.open_file_id != open_file_id_) {
    MMS_LOG(LogLevel::kDebug, kLog, "client-id=%u: StartPlaying for file id %u (ours %u): served",
            client_id_, sp.open_file_id, open_file_id_);
  }
  if (state_ == State::kStreaming) {
    // libmms seeks with a new StartPlaying and no StopPlaying: restart there.
    MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: StartPlaying while streaming: restart",
            client_id_);
  }
  play_inc_ = sp.play_incarnation;
  bool beyond_end = false;
  std::uint32_t start = 0;
  // Broadcast Fast Start: join that far behind live (protocol/core/fast_start.h).
  const std::uint32_t behind_ms =
      broadcast_fast_start_ms(sp.has_accel ? sp.dw_accel_duration : 0, config_->fast_start_factor);
  if (content_->fed()) {
    // A publishing point: from its last key frame (after a stream change, from
    // the new header's first packet), each packet as it arrives.
    start = fed_from_first_ ? content_->first_packet() : content_->live_start(behind_ms);
    fed_from_first_ = false;
  } else if (content_->live()) {
    start = live_join(now, behind_ms);
  } else {
    start = choose_start(sp, &beyond_end);
  }
  stop_send_ms_.reset();
  if (!content_->live() && sp.frame_offset != 0 && sp.frame_offset != kFrameOffsetForeignNoLimit &&
      !beyond_end) {
    const std::uint32_t limit = sp.frame_offset & ~kFrameOffsetRelative;
    const std::uint32_t base =
        (sp.frame_offset & kFrameOffsetRelative) != 0 ? content_->meta(start).send_time_ms : 0;
    stop_send_ms_ = base + limit;
  }
  if (last_af_ == 0xFE) {
    ++sequence_;  // MS-MMSP 3.2.5.11.1: after 0xFE a new play starts at 0x00
  }
  Message r = make_message(kLinkMacToViewerReportStartedPlaying);
  r.report_started_playing.hr = kHrOk;
  r.report_started_playing.play_incarnation = sp.play_incarnation;
  r.report_started_playing.tiger_file_id = open_file_id_;
  send(&r);
  next_packet_ = start;
  start_packet_ = start;
  MMS_LOG(LogLevel::kInfo, kLog,
          "client-id=%u: StartPlaying inc %u pos %.3f loc %u -> packet %u of %u (%s, %s)",
          client_id_, sp.play_incarnation, sp.position, sp.location_id, start,
          content_->packet_count(), udp_port_ != 0 ? "UDP" : "TCP",
          content_->fed() ? "publishing point"
                          : (content_->live() ? "live" : (config_->fast ? "fast" : "paced")));
  state_ = State::kStreaming;
  idle_at_.reset();
  paced_ = content_->live() || !config_->fast;
  if (udp_port_ != 0 && !paced_) {
    // A client that pauses when its queue is full (mmssrc) resumes with the
    // rate learnt so far, not with a new slow start.
    if (pacer_started_) {
      pacer_.resume(now);
    } else {
      pacer_.restart(now);
      pacer_started_ = true;
    }
  }
  play_start_ = now;
  if (start < content_->packet_count()) {
    start_send_ms_ = content_->meta(start).send_time_ms;
  }
  accel_ = FastStart();
  // (Only with a backlog: a publishing point that holds no packet yet has none.)
  catch_up_ = content_->live() && udp_port_ != 0 && start < content_->packet_count()
                  ? CatchUp::grant(behind_ms, config_->fast_start_factor)
                  : CatchUp();
  if (paced_ && !content_->live() && sp.has_accel) {
    accel_ = FastStart::grant(sp.dw_accel_duration, sp.dw_accel_bandwidth,
                              server::content_bps(*content_), config_->fast_start_factor);
    if (accel_.active()) {
      MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: Fast Start: %lld ms at %ux", client_id_,
              static_cast<long long>(accel_.burst_ms), accel_.factor);
    }
  }
  if (beyond_end) {
    next_packet_ = content_->packet_count();
  }
}

std::uint32_t ServerSession::live_join(Instant now, std::uint32_t behind_ms) {
  return content_->loop_join(now - config_->live_epoch, behind_ms, &live_iteration_);
}

void ServerSession::on_stop_playing(const Message& m) {
  if (state_ == State::kStreaming || state_ == State::kChanged) {
    state_ = State::kReady;
  }
  idle_at_ = now_ + config_->idle_timeout;
  Message r = make_message(kLinkMacToViewerReportEndOfStream);
  r.report_end_of_stream.hr = kHrOk;
  r.report_end_of_stream.play_incarnation = m.stop_playing.play_incarnation;
  send(&r);
}

// ---------------------------------------------------------------------------
// Data

Instant ServerSession::due_time(std::uint32_t packet) const {
  if (!content_->live()) {
    return play_start_ + accel_.offset(content_->send_ms_since(packet, start_send_ms_));
  }
  // A publishing point: as soon as it arrived.
  const Instant live = content_->fed()
                           ? play_start_
                           : content_->loop_due(config_->live_epoch, live_iteration_, packet);
  if (!catch_up_.active() || packet < content_->first_packet()) {
    return live;  // (a packet no longer held: the flow skips ahead, Content::catch_up)
  }
  const std::optional<Duration> paced =
      catch_up_.offset(content_->send_ms_since(packet, start_send_ms_));
  return paced ? std::max(live, play_start_ + *paced) : live;
}

ByteView ServerSession::packet_payload(std::uint32_t packet) {
  if (packet < content_->first_packet() || packet >= content_->packet_count()) {
    return ByteView();  // a publishing point no longer holds it
  }
  ByteView src = content_->packet(packet);
  if (!all_selected()) {
    bool empty = false;
    if (asf::filter_streams(src, content_->packet_size(), keep_, &scratch_, &empty).ok()) {
      if (empty) {
        return ByteView();
      }
      src = ByteView(scratch_);
    }
  }
  if (!config_->keep_padding && !spoon_ && asf::padding_strippable(src, content_->packet_size()) &&
      asf::strip_padding(src, content_->packet_size(), &scratch2_).ok()) {
    src = ByteView(scratch2_);
  }
  return src;
}

void ServerSession::send_packet(std::uint32_t packet) {
  const ByteView src = packet_payload(packet);
  if (src.empty()) {
    return;  // nothing of the selected streams: not sent, LocationId skips
  }
  std::uint64_t location = packet;
  if (content_->live() && !content_->fed()) {
    location += static_cast<std::uint64_t>(live_iteration_) * content_->packet_count();
  }
  const auto af = static_cast<std::uint8_t>(sequence_ & 0xFFu);
  Sent sent;
  sent.sequence = sequence_;
  sent.packet = packet;
  sent.location_id = static_cast<std::uint32_t>(location & 0xFFFFFFFFu);
  sent.inc = incarnation_byte(play_inc_);
  sent.af_flags = af;
  sent.rate_kb =
      static_cast<std::uint32_t>(std::min<std::uint64_t>(pacer_.rate() / 1000, UINT32_MAX));
  emit_data(sent.location_id, sent.inc, af, src, true);
  if (udp_port_ != 0) {
    history_.push_back(sent);
    if (history_.size() > kResendHistory) {
      history_.pop_front();
    }
  }
  last_af_ = af;
  ++sequence_;
  ++data_sent_;
}

void ServerSession::end_of_entry() {
  if (udp_port_ != 0 && !paced_) {
    MMS_LOG(LogLevel::kInfo, kLog,
            "client-id=%u: fast UDP: %u packets, %u resent, %u not kept, %u backoffs, %.0f MB/s",
            client_id_, data_sent_, resent_, resend_misses_, pacer_.backoffs(),
            static_cast<double>(pacer_.rate()) / 1e6);
  }
  const bool fed_change = content_->fed() && content_->successor() != nullptr;
  const bool more = (playlist_ && entry_ + 1 < entries_.size()) || fed_change;
  const bool loop = content_->live() && !content_->fed();
  Message eos = make_message(kLinkMacToViewerReportEndOfStream);
  eos.report_end_of_stream.hr = (more || loop) ? kHrFalse : kHrOk;
  eos.report_end_of_stream.play_incarnation = play_inc_;
  send(&eos);
  if (!more && !loop) {
    MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: end of stream after %u data packets", client_id_,
            data_sent_);
    state_ = State::kReady;
    idle_at_ = now_ + config_->idle_timeout;
    return;
  }
  if (fed_change) {
    content_ = content_->successor();
    fed_from_first_ = true;
    keep_.clear();
    forget_history();
    stream_switch_seen_ = false;
  } else if (more) {
    ++entry_;
    content_ = entries_[entry_];
    keep_.clear();
    forget_history();
    stream_switch_seen_ = false;
  }
  MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: stream change to entry %zu ('%s')", client_id_,
          entry_, content_->name().c_str());
  Message ch = make_message(kLinkMacToViewerReportStreamChange);
  ch.report_stream_change.hr = kHrOk;
  ch.report_stream_change.dw_tcp_hdr_incarnation = kTcpStreamChangeIncarnation;
  ch.report_stream_change.cb_packet_size = content_->packet_size();
  ch.report_stream_change.cb_header_size = static_cast<std::uint32_t>(content_->header().size());
  ch.report_stream_change.dw_bit_rate = total_bitrate();
  send(&ch);
  if (udp_port_ == 0) {
    // TCP: the new header follows at once, tagged 0xFF; data waits for StartPlaying.
    send_header(kPacketPairIncarnation);
    state_ = State::kChanged;
  } else {
    state_ = State::kReady;  // UDP: the client asks with ReadBlock
  }
  idle_at_ = now_ + config_->idle_timeout;
}

void ServerSession::produce(Instant now) {
  if (state_ != State::kStreaming || !content_) {
    return;
  }
  const std::uint32_t count = content_->packet_count();
  const Instant horizon = now + kMmsPacingSlack;
  const bool udp = udp_port_ != 0;
  if (const std::uint32_t to = content_->fed() ? content_->catch_up(next_packet_) : next_packet_;
      to != next_packet_) {
    MMS_LOG(LogLevel::kWarning, kLog, "client-id=%u: too slow for the feed: packets %u..%u skipped",
            client_id_, next_packet_, to);
    next_packet_ = to;
  }
  for (;;) {
    if (state_ != State::kStreaming) {
      return;
    }
    if (content_->fed() && next_packet_ >= count && !content_->ended()) {
      return;  // waiting for the feed
    }
    const bool at_end =
        next_packet_ >= count ||
        (stop_send_ms_ && content_->meta(next_packet_).send_time_ms > *stop_send_ms_);
    if (at_end) {
      if (udp && !datagrams_.empty()) {
        return;  // reported on TCP once the last datagram went out
      }
      end_of_entry();
      return;
    }
    if (paced_ && due_time(next_packet_) > horizon) {
      return;
    }
    if (udp ? (!paced_ && !pacer_.may_send(now)) : pending_.size() >= kMmsOutputBatchBytes) {
      return;
    }
    const std::size_t queued = datagrams_.size();
    send_packet(next_packet_++);
    if (udp && !paced_ && datagrams_.size() > queued) {
      pacer_.sent(datagrams_.back().bytes.size());
    }
    if (config_->close_after_packets != 0 && data_sent_ >= config_->close_after_packets) {
      MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: closing after %u data packets (fault)",
              client_id_, data_sent_);
      state_ = State::kDone;
      return;
    }
  }
}

// ---------------------------------------------------------------------------
// UDP resend requests

void ServerSession::on_datagram(ByteView datagram, Instant now) {
  now_ = now;
  if (peer_gone_ || udp_port_ == 0) {
    return;
  }
  RequestPacketListResend req;
  if (!decode_resend(datagram, &req).ok()) {
    return;
  }
  if (req.dw_client_id != client_id_ ||
      req.w_source_id != static_cast<std::uint16_t>(open_file_id_ & 0xFFFFu)) {
    return;  // not ours (or spoofed)
  }
  const std::int64_t second = (now - session_start_) / kSecond;
  if (second != resend_window_s_) {
    sent_last_window_ = second == resend_window_s_ + 1 ? data_sent_ - sent_at_window_ : 0;
    sent_at_window_ = data_sent_;
    resend_window_s_ = second;
    resends_in_window_ = 0;
  }
  if (!paced_ && state_ == State::kStreaming) {
    // The client lost packets: they were sent too fast.
    const Sent* first =
        req.dw_begin_packet_list.empty() ? nullptr : find_sent(req.dw_begin_packet_list.front());
    pacer_.on_loss(now, first != nullptr ? std::uint64_t{first->rate_kb} * 1000 : 0);
  }
  const std::uint32_t allowed =
      std::max(kMaxResendsPerSecond,
               (sent_last_window_ + (data_sent_ - sent_at_window_)) / kResendShareDivisor);
  std::size_t inserted = 0;  // resends go first, in the order asked
  for (std::uint32_t seq : req.dw_begin_packet_list) {
    if (resends_in_window_ >= allowed) {
      MMS_LOG(LogLevel::kDebug, kLog, "client-id=%u: resend rate limit", client_id_);
      return;
    }
    const Sent* sent = find_sent(seq);
    const ByteView payload = sent != nullptr ? packet_payload(sent->packet) : ByteView();
    Datagram d;
    if (payload.empty() ||
        !encode_data_packet(sent->location_id, sent->inc, sent->af_flags, payload, &d.bytes).ok()) {
      ++resend_misses_;
      MMS_LOG(LogLevel::kDebug, kLog, "client-id=%u: resend of %u: no longer kept", client_id_,
              seq);
      continue;  // too old (or never sent)
    }
    if (!paced_) {
      pacer_.sent(d.bytes.size());  // resends take their share of the rate
    }
    datagrams_.insert(datagrams_.begin() + static_cast<std::ptrdiff_t>(inserted++), std::move(d));
    ++resends_in_window_;
    ++resent_;
  }
}

}  // namespace mms::mmst
