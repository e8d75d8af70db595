// MMS server session, streaming: packet timing and pacing, data packets (TCP
// and UDP), the end of an entry and of the stream, and the UDP resend
// requests. See server_session.h and docs/protocols/mmsp-reference.md (§4.6
// live, §4.8 playlists, §5 UDP).
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
// Data

Instant ServerSession::due_time(std::uint32_t packet) const {
  if (content_->fed()) {
    return play_start_;  // due as soon as it arrived
  }
  const std::int64_t send = content_->meta(packet).send_time_ms;
  if (content_->live()) {
    const std::int64_t rel = send - std::int64_t{content_->meta(0).send_time_ms};
    return config_->live_epoch +
           (live_iteration_ * std::int64_t{content_->loop_period_ms()} + rel) * kMillisecond;
  }
  return play_start_ + accel_.offset(send - std::int64_t{start_send_ms_});
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
