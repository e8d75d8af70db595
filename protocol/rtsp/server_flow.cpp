// RTSP server session, the media flow (server_session.h): where the play
// starts, packet production paced on the send times (or fast, windowed by the
// client's RTCP receiver reports over UDP), RTP per stream and the end of an
// entry, RTCP sender reports, and the TCP and UDP output queues. The request
// dispatcher (OPTIONS ... TEARDOWN, authentication, content) is in
// server_session.cpp.
#include <algorithm>
#include <utility>

#include "protocol/asf/packet.h"
#include "protocol/core/byte_writer.h"
#include "protocol/core/log.h"
#include "protocol/rtsp/rtcp.h"
#include "protocol/rtsp/server_session.h"

namespace mms::rtsp {
namespace {

constexpr const char* kLog = "rtsp-server";

}  // namespace

Status rtp_asf_packet(ByteView packet, std::uint32_t packet_size, std::vector<std::uint8_t>* out) {
  MMS_TRY(asf::strip_padding(packet, packet_size, out));
  Result<asf::PacketInfo> info = asf::parse_packet(ByteView(*out), packet_size);
  if (!info.ok()) {
    return info.status();
  }
  if (info->packet_length_width != 0) {
    if (info->packet_length != out->size()) {
      out->assign(packet.begin(), packet.end());  // a BYTE field cannot say the length
    }
    return Status::Ok();
  }
  const std::size_t lt = info->length_type_offset;
  const std::size_t total = out->size() + 2;
  if (total > packet_size || lt + 2 > out->size()) {
    out->assign(packet.begin(), packet.end());
    return Status::Ok();
  }
  (*out)[lt] = static_cast<std::uint8_t>(((*out)[lt] & 0x9Fu) | 0x40u);  // Packet Length: WORD
  const std::uint8_t field[2] = {static_cast<std::uint8_t>(total & 0xFFu),
                                 static_cast<std::uint8_t>(total >> 8)};
  out->insert(out->begin() + static_cast<std::ptrdiff_t>(lt + 2), field, field + 2);
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Output

ByteView ServerSession::next_output(Instant now) {
  now_ = now;
  if (peer_gone_) {
    return ByteView();
  }
  if (pending_pos_ >= pending_.size()) {
    pending_.clear();
    pending_pos_ = 0;
    datagram_gate_ = false;
    if (!udp_) {
      if (state_ == State::kPlaying) {
        last_activity_ = now;  // the client read everything handed out so far
      }
      produce(now);
    } else if (state_ == State::kPlaying && content_ && next_packet_ >= content_->packet_count() &&
               datagrams_.empty()) {
      produce(now);  // UDP: the end-of-stream request travels on TCP
    }
  }
  return ByteView(pending_.data() + pending_pos_, pending_.size() - pending_pos_);
}

void ServerSession::consume_output(std::size_t n) {
  if (n > 0 && !udp_ && state_ == State::kPlaying) {
    last_activity_ = now_;  // the client reads the interleaved data
  }
  pending_pos_ += std::min(n, pending_.size() - pending_pos_);
  if (pending_pos_ >= pending_.size()) {
    datagram_gate_ = false;
  }
}

bool ServerSession::wants_close() const {
  if (peer_gone_) {
    return true;
  }
  return state_ == State::kDone && pending_pos_ >= pending_.size();
}

std::uint16_t ServerSession::udp_port() const {
  if (!udp_ || slots_.empty()) {
    announced_port_ = 0;
    return 0;
  }
  announced_port_ = datagrams_.empty() ? slots_.front().client_port : datagrams_.front().port;
  return announced_port_;
}

ByteView ServerSession::next_datagram(Instant now) {
  now_ = now;
  if (peer_gone_ || !udp_ || datagram_gate_) {
    return ByteView();
  }
  if (datagrams_.empty()) {
    produce(now);
  }
  if (datagrams_.empty()) {
    return ByteView();
  }
  if (announced_port_ != 0 && datagrams_.front().port != announced_port_) {
    return ByteView();  // for another port: the caller reads udp_port() again
  }
  return ByteView(datagrams_.front().bytes);
}

void ServerSession::consume_datagram() {
  if (!datagrams_.empty()) {
    datagrams_.pop_front();
  }
}

// RTCP (RFC 3550 6.4.1, 6.5, 6.6): SR + SDES CNAME (+ BYE), one compound
// packet per stream, on the stream's RTCP port or interleaved channel.
void ServerSession::queue_rtcp(Slot* slot, bool bye) {
  std::vector<std::uint8_t> p;
  ByteWriter w(&p);
  // NTP time of the session's monotonic clock (receivers use differences:
  // every stream of the session reports on the same clock).
  const std::uint64_t ns = now_.ns > 0 ? static_cast<std::uint64_t>(now_.ns) : 0;
  const std::uint64_t secs = ns / 1000000000u + 2208988800u;
  const std::uint64_t frac = ((ns % 1000000000u) << 32) / 1000000000u;
  // The RTP clock is the ASF send time in ms: paced, it ran on since the last packet.
  std::uint32_t ts = slot->last_rtp_ts;
  if (paced_ && slot->rtp_packets > 0 && now_ > slot->last_rtp_at) {
    ts += static_cast<std::uint32_t>((now_ - slot->last_rtp_at) / kMillisecond);
  }
  p.insert(p.end(), {0x80, 200, 0, 6});  // SR, no report blocks
  w.u32be(slot->ssrc);
  w.u32be(static_cast<std::uint32_t>(secs));
  w.u32be(static_cast<std::uint32_t>(frac));
  w.u32be(ts);
  w.u32be(slot->rtp_packets);
  w.u32be(slot->rtp_octets);
  append_rtcp_cname(slot->ssrc, "mms-server", &p);
  if (bye) {
    p.insert(p.end(), {0x81, 203, 0, 1});
    w.u32be(slot->ssrc);
  }
  if (udp_) {
    Datagram d;
    d.bytes = std::move(p);
    d.port = slot->rtcp_port != 0 ? slot->rtcp_port : slot->client_port;
    datagrams_.push_back(std::move(d));
  } else if (slot->channel < 255) {
    (void)write_interleaved(static_cast<std::uint8_t>(slot->channel + 1), ByteView(p), &pending_);
  }
}

void ServerSession::queue_reports(bool bye) {
  for (Slot& slot : slots_) {
    if (slot.source != 0 && (slot.rtp_packets > 0 || bye)) {
      queue_rtcp(&slot, bye);
    }
  }
  if (bye && (udp_ ? rtx_set_up_ && rtx_port_ != 0 : true)) {
    // The retransmission source ends too: a client that ends after one BYE
    // per SDP medium (FFmpeg counts BYE packets against its m= lines) counts
    // it. Interleaved, the x-wms-rtx source is never set up (retransmission
    // is a UDP affair), so its report goes on the first stream's RTCP
    // channel, naming the RTX SSRC; our client marks that stream ended,
    // which its own BYE already did.
    Slot rtx;
    if (rtx_ssrc_ == 0) {
      rtx_ssrc_ = new_ssrc();
    }
    rtx.ssrc = rtx_ssrc_;
    rtx.client_port = rtx_port_;
    rtx.rtcp_port = rtx_rtcp_port_;
    rtx.channel = 0xFF;
    if (!udp_) {
      for (const Slot& slot : slots_) {
        if (slot.source != 0 && slot.channel < 255) {
          rtx.channel = slot.channel;
          break;
        }
      }
    }
    queue_rtcp(&rtx, true);
  }
}

std::uint32_t ServerSession::timeout_seconds() const {
  const Duration t = std::max<Duration>(config_->session_timeout, kSecond);
  const Duration s = (t + kSecond - 1) / kSecond;
  return s > Duration{UINT32_MAX} ? UINT32_MAX : static_cast<std::uint32_t>(s);
}

std::size_t ServerSession::next_datagrams(Instant now, ByteView* out, std::size_t max) {
  now_ = now;
  if (peer_gone_ || !udp_ || datagram_gate_) {
    return 0;
  }
  // Produce until the batch is full or nothing more is due (deque appends
  // keep the views of queued datagrams valid).
  while (datagrams_.size() < max) {
    const std::size_t before = datagrams_.size();
    produce(now);
    if (datagrams_.size() == before) {
      break;
    }
  }
  std::size_t n = 0;
  while (n < max && n < datagrams_.size() &&
         (announced_port_ == 0 || datagrams_[n].port == announced_port_)) {
    out[n] = ByteView(datagrams_[n].bytes);
    ++n;
  }
  return n;
}

void ServerSession::consume_datagrams(std::size_t n) {
  datagrams_.erase(datagrams_.begin(), datagrams_.begin() + static_cast<std::ptrdiff_t>(
                                                                std::min(n, datagrams_.size())));
}

void ServerSession::on_datagram(ByteView datagram, Instant now) {
  now_ = now;
  last_activity_ = now;  // RTCP receiver reports (or a NAT punch): the client is there
  if (!udp_ || !is_rtcp(datagram)) {
    return;  // NAT punches and the like
  }
  std::vector<ReportBlock> blocks;
  if (!parse_report_blocks(datagram, &blocks).ok()) {
    return;
  }
  bool ours = false;
  bool lost = false;
  std::optional<Duration> rtt;  // of the newest datagram reported
  for (const ReportBlock& b : blocks) {
    for (Slot& slot : slots_) {
      if (slot.ssrc != b.ssrc) {
        continue;  // another session's stream (same client address) or a stale one
      }
      ours = true;
      const auto seq = static_cast<std::uint16_t>(b.highest_seq & 0xFFFFu);
      const auto behind = static_cast<std::uint16_t>(slot.last_sent_seq - seq);
      if (slot.sent_any && !slot.sent_at.empty() && behind < kRtspSendTimes &&
          slot.reported_seq != seq) {
        const Duration sample = now - slot.sent_at[seq % kRtspSendTimes];
        rtt = rtt ? std::min(*rtt, sample) : sample;
      }
      slot.reported_seq = seq;
      lost = lost || b.cumulative_lost > slot.reported_lost;
      slot.reported_lost = b.cumulative_lost;
    }
  }
  if (!ours) {
    return;
  }
  reporting_ = true;
  last_report_at_ = now;
  if (rtt) {
    min_rtt_ = min_rtt_ ? std::min(*min_rtt_, *rtt) : *rtt;
  }
  if (lost) {
    window_ = std::max(kRtspFastWindowMin, window_ / 2);
  } else if (rtt && *rtt > *min_rtt_ + kRtspQueueDelay) {
    window_ = std::max(kRtspFastWindowMin, window_ - window_ / 8);  // a queue builds up
  } else {
    window_ = std::min(kRtspFastWindowMax, window_ + kRtspFastWindowStep);
  }
}

std::uint32_t ServerSession::datagrams_in_flight() const {
  std::uint32_t n = 0;
  for (const Slot& s : slots_) {
    if (!s.sent_any) {
      continue;
    }
    if (!s.reported_seq) {
      n += s.sent_unreported;
      continue;
    }
    const auto ahead = static_cast<std::uint16_t>(s.last_sent_seq - *s.reported_seq);
    n += ahead < 0x8000u ? ahead : 0u;  // a report from beyond: nothing in flight
  }
  return n;
}

bool ServerSession::may_send_fast(Instant now) {
  if (windowed(now)) {
    return datagrams_in_flight() < window_;
  }
  if (now >= tick_start_ + kRtspUdpFastTick) {
    tick_start_ = now;
    burst_in_tick_ = 0;
  }
  if (burst_in_tick_ >= kRtspUdpFastBurst) {
    return false;
  }
  ++burst_in_tick_;
  return true;
}

std::uint32_t ServerSession::back_to_key(std::uint32_t packet) const {
  return content_->key_at_or_before(packet);
}

std::uint32_t ServerSession::choose_start(std::uint64_t target) const {
  return content_->start_for_presentation(target);
}

std::uint32_t ServerSession::live_join(Instant now, std::uint32_t behind_ms) {
  return content_->loop_join(now - config_->live_epoch, behind_ms, &live_iteration_);
}

std::uint16_t ServerSession::next_seq(const Slot& slot) const {
  if (slot.shared_seq) {
    const auto it = port_seq_.find(slot.client_port);
    if (it != port_seq_.end()) {
      return it->second;
    }
  }
  return slot.payloader->next_seq();
}

std::string ServerSession::rtp_info(bool with_rtptime, std::uint32_t packet) const {
  std::vector<RtpInfo> entries;
  for (const Slot& s : slots_) {
    RtpInfo e;
    e.url = s.url;
    e.seq = next_seq(s);
    if (with_rtptime && packet < content_->packet_count()) {
      e.rtptime = s.payloader->rtp_timestamp(content_->meta(packet).send_time_ms);
    }
    entries.push_back(std::move(e));
  }
  return format_rtp_info(entries);
}

void ServerSession::start_flow(std::uint32_t packet, Instant now) {
  datagrams_.clear();  // a seek drops what the old flow had queued
  eos_at_.reset();
  next_packet_ = packet;
  start_packet_ = packet;
  play_start_ = now;
  paced_ = content_->live() || !config_->fast;
  if (udp_ && !paced_ && !fast_start_) {
    fast_start_ = now;  // the initial window waits for the first report from here
  }
  if (packet < content_->packet_count()) {
    start_send_ms_ = content_->meta(packet).send_time_ms;
  }
  played_ = true;
  state_ = State::kPlaying;
  report_at_ = now + kRtspReportInterval;
  if (udp_) {
    datagram_gate_ = true;  // the PLAY reply goes out before any RTP
  }
}
// ---------------------------------------------------------------------------
// Data

Instant ServerSession::due_time(std::uint32_t packet) const {
  if (content_->fed()) {
    return play_start_;  // due as soon as it arrived
  }
  if (content_->live()) {
    return content_->loop_due(config_->live_epoch, live_iteration_, packet);
  }
  return play_start_ + accel_.offset(content_->send_ms_since(packet, start_send_ms_));
}

void ServerSession::send_packet(std::uint32_t packet) {
  const ByteView file_packet = content_->packet(packet);
  const std::uint32_t size = content_->packet_size();
  const std::uint32_t send_time = content_->meta(packet).send_time_ms;
  for (Slot& slot : slots_) {
    if (slot.source == 0) {
      continue;
    }
    bool empty = false;
    if (!asf::filter_streams(file_packet, size, slot.keep, &scratch_, &empty).ok() || empty) {
      continue;  // nothing of this stream in the packet
    }
    ByteView src(scratch_);
    if (!config_->keep_padding && rtp_asf_packet(src, size, &scratch2_).ok()) {
      src = ByteView(scratch2_);
    }
    bool key = false;
    if (Result<asf::PacketInfo> info = asf::parse_packet(src, size); info.ok()) {
      key = info->any_keyframe;
    }
    rtp_out_.clear();
    if (!slot.payloader->push(src, send_time, key, &rtp_out_).ok()) {
      continue;
    }
    for (std::vector<std::uint8_t>& rtp : rtp_out_) {
      if (rtp.size() >= kRtpHeaderSize) {
        ++slot.rtp_packets;
        slot.rtp_octets += static_cast<std::uint32_t>(rtp.size() - kRtpHeaderSize);
        slot.last_rtp_ts = static_cast<std::uint32_t>(rtp[4]) << 24 |
                           static_cast<std::uint32_t>(rtp[5]) << 16 |
                           static_cast<std::uint32_t>(rtp[6]) << 8 | rtp[7];
        slot.last_rtp_at = now_;
      }
      if (udp_ && slot.shared_seq && rtp.size() >= kRtpHeaderSize) {
        std::uint16_t& seq = port_seq_[slot.client_port];
        rtp[2] = static_cast<std::uint8_t>(seq >> 8);
        rtp[3] = static_cast<std::uint8_t>(seq & 0xFFu);
        ++seq;
      }
      if (udp_) {
        if (rtp.size() >= kRtpHeaderSize) {
          slot.last_sent_seq = static_cast<std::uint16_t>(rtp[2] << 8 | rtp[3]);
          slot.sent_any = true;
          slot.sent_unreported += slot.reported_seq ? 0u : 1u;
          if (!paced_) {
            if (slot.sent_at.empty()) {
              slot.sent_at.resize(kRtspSendTimes);
            }
            slot.sent_at[slot.last_sent_seq % kRtspSendTimes] = now_;
          }
        }
        Datagram d;
        d.bytes = std::move(rtp);
        d.port = slot.client_port;
        datagrams_.push_back(std::move(d));
      } else {
        (void)write_interleaved(slot.channel, ByteView(rtp), &pending_);
      }
    }
  }
  ++data_sent_;
}

void ServerSession::remap_streams() {
  // A new playlist entry: each set-up stream number carries the new entry's
  // stream of that number; the entry's other streams (a playlist may go from
  // audio only to audio + video) ride along on the first slot, so that the
  // client receives the whole entry without a new SETUP.
  if (slots_.empty()) {
    return;
  }
  for (Slot& s : slots_) {
    set_source(&s, content_->has_stream(s.number) ? s.number : 0);
  }
  for (const asf::StreamInfo& st : content_->info().streams) {
    bool carried = false;
    for (const Slot& s : slots_) {
      carried = carried || s.source == st.number;
    }
    if (carried || st.number == 0 || st.number >= kStreamSlots) {
      continue;
    }
    Slot& first = slots_.front();
    if (first.source == 0) {
      set_source(&first, st.number);
    } else {
      first.keep[st.number] = true;
    }
  }
}

void ServerSession::end_of_entry() {
  const bool fed_change = content_->fed() && content_->successor() != nullptr;
  const bool more = (playlist_ && entry_ + 1 < entries_.size()) ||
                    (content_->live() && !content_->fed()) || fed_change;
  Request eos;
  eos.method = "SET_PARAMETER";
  eos.uri = base_url_ + "/";
  eos.headers.add("Session", session_id_);
  eos.headers.add("X-Notice", "2101 \"End-of-Stream Reached\"");
  eos.headers.add("RTP-Info", rtp_info(false, 0));
  eos.headers.add("Content-Type", "application/x-wms-extension-cmd");
  eos.body = "Session: " + session_id_ + "\r\nEOF: true\r\n";
  if (more) {
    eos.body += "End-Of-Playlist-Entry: true\r\n";
  }
  if (!more) {
    queue_reports(true);  // BYE: the flow ends here (RFC 3550 6.6)
  }
  queue_request(&eos);
  if (!more) {
    MMS_LOG(LogLevel::kInfo, kLog, "session %s: end of stream after %u packets",
            session_id_.c_str(), data_sent_);
    state_ = State::kReady;
    last_activity_ = now_;  // the session timer runs again from here
    return;
  }
  if (fed_change) {
    content_ = content_->successor();
    remap_streams();
  } else if (content_->live()) {
    ++live_iteration_;
  } else {
    ++entry_;
    content_ = entries_[entry_];
    remap_streams();
  }
  gen_id_ = gen_id_ >= 0xFFFFFFF0u ? 1 : gen_id_ + 1;
  Result<std::string> sdp = sdp_for(*content_);
  Request ann;
  ann.method = "ANNOUNCE";
  ann.uri = base_url_ + "/";
  ann.headers.add("Session", session_id_);
  ann.headers.add("X-Playlist-Gen-Id", std::to_string(gen_id_));
  ann.headers.add("Content-Type", "application/sdp");
  ann.body = sdp.ok() ? std::move(*sdp) : std::string();
  queue_request(&ann);
  MMS_LOG(LogLevel::kInfo, kLog, "session %s: ANNOUNCE entry %zu ('%s'), gen id %u",
          session_id_.c_str(), entry_, content_->name().c_str(), gen_id_);
  next_packet_ = content_->first_packet();
  state_ = State::kAnnounced;
  last_activity_ = now_;
}

void ServerSession::produce(Instant now) {
  if (state_ != State::kPlaying || !content_) {
    return;
  }
  const std::uint32_t count = content_->packet_count();
  const Instant horizon = now + kRtspPacingSlack;
  if (const std::uint32_t to = content_->fed() ? content_->catch_up(next_packet_) : next_packet_;
      to != next_packet_) {
    MMS_LOG(LogLevel::kWarning, kLog, "session %s: too slow for the feed: packets %u..%u skipped",
            session_id_.c_str(), next_packet_, to);
    next_packet_ = to;
  }
  for (;;) {
    if (state_ != State::kPlaying) {
      return;
    }
    if (content_->fed() && next_packet_ >= count && !content_->ended()) {
      return;  // waiting for the feed
    }
    if (next_packet_ >= count) {
      if (udp_ && !datagrams_.empty()) {
        return;  // the end-of-stream request follows the last datagram
      }
      if (udp_ && !eos_at_) {
        eos_at_ = now + kRtspUdpEosDelay;  // let the last datagrams land first
      }
      if (eos_at_ && now < *eos_at_ && !(!paced_ && reporting_ && datagrams_in_flight() == 0)) {
        return;  // (fast mode: unless the client's reports say it has them all)
      }
      eos_at_.reset();
      end_of_entry();
      return;
    }
    if (paced_ && due_time(next_packet_) > horizon) {
      return;
    }
    if (udp_ ? ((!paced_ && !may_send_fast(now)) || datagrams_.size() >= kRtspMaxQueuedDatagrams)
             : pending_.size() >= kRtspOutputBatchBytes) {
      return;
    }
    send_packet(next_packet_++);
    if (config_->close_after_packets != 0 && data_sent_ >= config_->close_after_packets) {
      MMS_LOG(LogLevel::kInfo, kLog, "session %s: closing after %u packets (fault)",
              session_id_.c_str(), data_sent_);
      state_ = State::kDone;
      return;
    }
  }
}

}  // namespace mms::rtsp
