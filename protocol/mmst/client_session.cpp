#include "protocol/mmst/client_session.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <string_view>
#include <utility>

#include "protocol/core/byte_reader.h"
#include "protocol/core/limits.h"
#include "protocol/core/log.h"

namespace mms::mmst {
namespace {

constexpr const char* kLog = "mmst-client";
// ConnectFunnel's TCP port is meaningless (docs/protocols/mmsp-reference.md §2.5);
// any number will do.
constexpr std::uint16_t kFakeTcpFunnelPort = 1037;

std::string hr_text(std::uint32_t hr) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "HRESULT 0x%08X %s", hr, hresult_to_string(hr));
  return buf;
}

}  // namespace

Status status_for_hresult(std::uint32_t hr, Code fallback) {
  switch (hr) {
    case kHrFileNotFound:
    case kHrPathNotFound:
    case kNsEFileNotFound:
    case kNsENoStream:
    case kNsEServerNotFound:
    case kNsEInvalidChannel:
      return Status(Code::kNotFound, "server says the content does not exist", hr);
    case kHrAccessDenied:
      return Status(Code::kNotAuthorized, "server denied access", hr);
    case kNsETooManySess:
      return Status(Code::kRefused, "server is busy (too many clients)", hr);
    case kNsEProtocolMismatch:
    case kNsENoFunnel:
      return Status(Code::kRefused, "server refused the MMS transport", hr);
    default:
      break;
  }
  if (fallback == Code::kPeerViolation) {
    return Status(Code::kPeerViolation, "server reported an error while streaming", hr);
  }
  return Status(fallback, "server refused the request", hr);
}

MmstClientSession::MmstClientSession(session::ClientConfig config, bool udp)
    : config_(std::move(config)), udp_(udp), current_url_(config_.url), window_(this) {
  asf::HeaderGateOptions o;
  o.log_component = kLog;
  o.connection_speed_kbps = config_.connection_speed_kbps;
  o.audio_only = config_.audio_only;
  o.new_entry_is_change = true;  // a ReportStreamChange's header is a change
  gate_ = asf::HeaderGate(o);
  if (config_.known_bandwidth_bps != 0) {
    gate_.set_measured_bandwidth(config_.known_bandwidth_bps);
    probed_ = true;  // measured already: no probe again
  }
}

// --- commands -----------------------------------------------------------------

void MmstClientSession::play(const session::PlayRequest& req, Instant now) {
  if (state_ == State::kFailed) {
    return;
  }
  position_ms_ = req.position_ms;
  if (state_ == State::kIdle) {
    touch(now);
    if (udp_) {
      udp_ch_ = next_channel_++;
      state_ = State::kBinding;
      session::IoAction a;
      a.kind = session::IoAction::Kind::kBindUdp;
      a.channel = udp_ch_;
      a.host = current_url_.host;
      a.port = config_.udp_port_min;
      a.port_max = config_.udp_port_max;
      actions_.push_back(std::move(a));
    } else {
      connect_tcp(now);
    }
    return;
  }
  if (!gate_.known() || tcp_ == 0) {
    return;  // the first play is still being set up; it uses position_ms_
  }
  if (state_ == State::kAwaitStarted || state_ == State::kStreaming || state_ == State::kPaused ||
      state_ == State::kDone) {
    // Seek (or restart after the end): StartPlaying with a new incarnation.
    discont_pending_ = true;
    stop_sent_ = false;
    resume_floor_active_ = false;
    send_start(now, std::nullopt);
  }
}

void MmstClientSession::close() {
  if (tcp_ != 0 && open_file_id_ != 0 && state_ != State::kFailed) {
    Message m = make_message(kLinkViewerToMacCloseFile);
    m.close_file.open_file_id = open_file_id_;
    send(&m);
  }
  close_channels();
  if (state_ != State::kFailed) {
    state_ = State::kDone;
  }
}

void MmstClientSession::close_channels() {
  for (session::ChannelId* ch : {&tcp_, &udp_ch_}) {
    if (*ch != 0) {
      session::IoAction a;
      a.kind = session::IoAction::Kind::kClose;
      a.channel = *ch;
      actions_.push_back(std::move(a));
      *ch = 0;
    }
  }
}

void MmstClientSession::connect_tcp(Instant now) {
  tcp_ = next_channel_++;
  state_ = State::kConnecting;
  touch(now);
  session::IoAction a;
  a.kind = session::IoAction::Kind::kConnectTcp;
  a.channel = tcp_;
  a.host = current_url_.host;
  a.port = current_url_.port != 0 ? current_url_.port : std::uint16_t{1755};
  MMS_LOG(LogLevel::kInfo, kLog, "%s: connecting to %s:%u (%s)", current_url_.redacted().c_str(),
          a.host.c_str(), a.port, transport_name());
  actions_.push_back(std::move(a));
}

void MmstClientSession::send(Message* m) {
  if (tcp_ == 0) {
    return;
  }
  m->header.seq = seq_++;
  std::vector<std::uint8_t> out;
  Status st = encode_message(*m, &out);
  if (!st.ok()) {
    fail(st);
    return;
  }
  MMS_LOG(LogLevel::kDebug, kLog, "%s -> %s", transport_name(), mid_to_string(m->mid));
  session::IoAction a;
  a.kind = session::IoAction::Kind::kSend;
  a.channel = tcp_;
  a.bytes.assign(out.begin(), out.end());
  actions_.push_back(std::move(a));
}

void MmstClientSession::send_connect() {
  Message m = make_message(kLinkViewerToMacConnect);
  m.connect.play_incarnation = config_.packet_pair ? kMmsUsePacketPair : kMmsDisablePacketPair;
  std::string guid = config_.client_guid;
  if (guid.size() >= 2 && guid.front() == '{' && guid.back() == '}') {
    guid = guid.substr(1, guid.size() - 2);
  }
  m.connect.subscriber_name =
      make_subscriber_name(kClientPlayerVersion, guid, current_url_.host_port());
  send(&m);
  state_ = State::kAwaitConnected;
}

void MmstClientSession::send_open_file(Instant now) {
  Message m = make_message(kLinkViewerToMacOpenFile);
  m.open_file.play_incarnation = play_inc_;
  std::string path = current_url_.path;
  if (!path.empty() && path.front() == '/') {
    path.erase(0, 1);
  }
  std::string decoded;
  m.open_file.file_name = percent_decode(path, &decoded) ? decoded : path;
  send(&m);
  state_ = State::kAwaitOpen;
  touch(now);
}

void MmstClientSession::send_read_block(Instant now) {
  header_inc_ = next_header_incarnation(header_inc_);
  expected_header_inc_ = header_inc_;
  assembler_.reset(file_header_size_);
  udp_fragments_.clear();
  udp_fragment_bytes_ = 0;
  udp_last_fragment_.reset();
  Message m = make_message(kLinkViewerToMacReadBlock);
  m.read_block.open_file_id = open_file_id_;
  m.read_block.play_incarnation = header_inc_;
  send(&m);
  state_ = State::kAwaitHeader;
  touch(now);
  if (udp_) {
    if (!udp_seen_ && !udp_wait_since_) {
      udp_wait_since_ = now;
    }
    header_retry_at_ = now + kUdpHeaderRetry;
  }
}

void MmstClientSession::send_start(Instant now, std::optional<std::uint32_t> location) {
  play_inc_ = next_play_incarnation(play_inc_);
  // The server's sequence counter starts at 0 with the session; later plays
  // continue it (unknown here, so the first packet of the play sets it).
  window_.start_play(play_inc_, location, !media_seen_);
  if (switch_needed_ && !gate_.selection().empty()) {
    switch_needed_ = false;
    Message ss = make_message(kLinkViewerToMacStreamSwitch);
    for (const asf::StreamChoice& c : gate_.selection()) {
      StreamSwitchEntry e;
      e.w_src_stream_number = kStreamNone;
      e.w_dst_stream_number = c.number;
      e.w_thinning_level = c.selected ? kThinningNone : kThinningNothing;
      ss.stream_switch.a_stream_entries.push_back(e);
    }
    send(&ss);
  }
  Message m = make_message(kLinkViewerToMacStartPlaying);
  StartPlaying& sp = m.start_playing;
  sp.open_file_id = open_file_id_;
  sp.asf_offset = kOffsetUnused;
  sp.location_id = kOffsetUnused;
  if (location) {
    sp.position = kPositionUseOffsets;
    sp.location_id = *location;
  } else if (position_ms_ == 0) {
    sp.position = 0.0;
  } else {
    // Our convention (shared with the server): presentation time, preroll included.
    sp.position = static_cast<double>(position_ms_ + gate_.info().preroll_ms) / 1000.0;
  }
  sp.frame_offset = 0;
  sp.play_incarnation = play_inc_;
  if (server_major_ >= 9) {
    sp.has_accel = true;
    sp.dw_accel_bandwidth = 0x7FFFFFFF;
    // Fast Start (protocol/core/fast_start.h); for a broadcast the server
    // starts that far behind live.
    sp.dw_accel_duration = config_.fast_start_ms;
    sp.dw_link_bandwidth = 0x7FFFFFFF;
  }
  send(&m);
  state_ = State::kAwaitStarted;
  eos_pending_ = false;
  touch(now);
}

// --- inputs -----------------------------------------------------------------

void MmstClientSession::on_local_address(session::ChannelId ch, const std::string& local_ip) {
  if (ch == tcp_) {
    local_ip_ = local_ip;
  }
}

void MmstClientSession::on_udp_bound(session::ChannelId ch, std::uint16_t port, Instant now) {
  window_.release_storage();
  if (ch != udp_ch_ || state_ != State::kBinding) {
    return;
  }
  udp_port_ = port;
  MMS_LOG(LogLevel::kDebug, kLog, "UDP data port %u", port);
  connect_tcp(now);
}

void MmstClientSession::on_connected(session::ChannelId ch, Instant now) {
  window_.release_storage();
  if (ch != tcp_ || state_ != State::kConnecting) {
    return;
  }
  touch(now);
  seq_ = 0;
  send_connect();
}

void MmstClientSession::on_connect_failed(session::ChannelId ch, Status why, Instant) {
  window_.release_storage();
  if (state_ == State::kFailed) {
    return;
  }
  if (ch == tcp_) {
    tcp_ = 0;
    fail(why);
  } else if (ch == udp_ch_) {
    udp_ch_ = 0;
    fail(why.ok() ? Status(Code::kRefused, "could not bind a UDP port") : why);
  }
}

std::size_t MmstClientSession::on_bytes(session::ChannelId ch, ByteView bytes, Instant now) {
  window_.release_storage();
  if (ch != tcp_ || tcp_ == 0 || state_ == State::kFailed) {
    return bytes.size();  // stale channel: discard
  }
  if (state_ == State::kAwaitConnected && bytes.size() >= 8 &&
      (bytes[4] != 0xCE || bytes[5] != 0xFA || bytes[6] != 0x0B || bytes[7] != 0xB0)) {
    // The first answer must be a command: this is not an MMS server (say so now).
    fail(Status(Code::kMalformed, "server answered with something that is not MMS"));
    return bytes.size();
  }
  // Only progress restarts the no-data timer: a server that keeps pinging but
  // sends nothing else is stalled all the same. Every complete unit but a Ping
  // counts, and so does part of a Data packet (a large packet trickling in).
  std::size_t consumed = 0;
  while (consumed < bytes.size()) {
    Unit unit;
    Status error;
    Decode d = decode_tcp_unit(bytes.subview(consumed), &unit, &error);
    if (d == Decode::kNeedMore) {
      const ByteView rest = bytes.subview(consumed);
      if (rest.size() >= 8 && load_u32le(rest.data() + 4) != kSessionId) {
        touch(now);
      }
      break;
    }
    if (d == Decode::kError) {
      fail(Status(error.code() == Code::kLimitExceeded ? Code::kLimitExceeded : Code::kMalformed,
                  "server sent a malformed MMS message", error.detail()));
      return bytes.size();
    }
    consumed += unit.wire_size;
    unit_wire_ = unit.wire_size;
    unread_after_unit_ = bytes.size() - consumed;  // arrived together with this unit
    if (unit.kind == Unit::Kind::kData || unit.message.mid != kLinkMacToViewerPing ||
        !unit.message.extra_messages.empty()) {
      touch(now);
    }
    if (unit.kind == Unit::Kind::kData) {
      handle_data(unit.data, false, now);
    } else {
      handle_message(unit.message, now);
      // Servers should not combine messages, but a robust client reads them all.
      ByteView extra = unit.message.extra_messages;
      while (!extra.empty() && state_ != State::kFailed && ch == tcp_) {
        Message m;
        std::size_t used = 0;
        Decode db = decode_body(extra, &m, &used, &error);
        if (db != Decode::kDone || used == 0) {
          fail(Status(Code::kMalformed, "server sent a malformed MMS message", error.detail()));
          return bytes.size();
        }
        handle_message(m, now);
        extra = extra.subview(used);
      }
    }
    if (state_ == State::kFailed || ch != tcp_) {
      return bytes.size();
    }
  }
  return consumed;
}

void MmstClientSession::on_datagram(session::ChannelId ch, ByteView datagram, Instant now) {
  window_.release_storage();
  if (ch != udp_ch_ || udp_ch_ == 0 || state_ == State::kFailed) {
    return;
  }
  DataPacket p;
  Status st = decode_udp_data_packet(datagram, &p);
  if (!st.ok()) {
    MMS_LOG(LogLevel::kWarning, kLog, "ignoring a malformed UDP datagram (%zu bytes)",
            datagram.size());
    return;
  }
  udp_seen_ = true;
  udp_wait_since_.reset();
  touch(now);
  handle_data(p, true, now);
}

void MmstClientSession::on_eof(session::ChannelId ch, Instant) {
  window_.release_storage();
  if (ch != tcp_ || tcp_ == 0 || state_ == State::kFailed) {
    return;
  }
  tcp_ = 0;
  if (state_ == State::kDone) {
    return;  // the server closed after the end: nothing lost
  }
  if (state_ == State::kConnecting || state_ == State::kAwaitConnected ||
      state_ == State::kAwaitFunnelInfo || state_ == State::kAwaitFunnel) {
    fail(Status(Code::kRefused, "server closed the connection during the MMS handshake"));
  } else if (state_ == State::kAwaitOpen || state_ == State::kAwaitHeader) {
    fail(Status(Code::kConnectionLost, "server closed the connection before the ASF header"));
  } else {
    fail(Status(Code::kConnectionLost, "server closed the connection mid-stream"));
  }
}

// --- messages -----------------------------------------------------------------

void MmstClientSession::handle_message(const Message& m, Instant now) {
  MMS_LOG(LogLevel::kDebug, kLog, "%s <- %s", transport_name(), mid_to_string(m.mid));
  switch (m.mid) {
    case kLinkMacToViewerPing: {
      const std::int64_t second = now.ns / kSecond;
      if (second != ping_window_s_) {
        ping_window_s_ = second;
        pings_in_window_ = 0;
      }
      if (++pings_in_window_ > kMaxPingsPerSecond) {
        fail(Status(Code::kPeerViolation, "server floods pings"));
        return;
      }
      Message pong = make_message(kLinkViewerToMacPong);
      send(&pong);
      ++pongs_;
      return;
    }
    case kLinkMacToViewerReportConnectedEX: {
      if (state_ != State::kAwaitConnected) {
        return;
      }
      const ReportConnectedEX& r = m.report_connected_ex;
      if (hr_failed(r.hr)) {
        fail(status_for_hresult(r.hr, Code::kRefused), hr_text(r.hr));
        return;
      }
      server_major_ = server_major_version(r.server_version_info);
      authen_package_ = r.authen_package;
      // Packet pair when both want it (MS-MMSP 3.1.5.3): three padded
      // ReportFunnelInfo over TCP, or two UDP Data packets after ReadBlock.
      Message fi = make_message(kLinkViewerToMacFunnelInfo);
      fi.funnel_info.play_incarnation = kMmsDisablePacketPair;
      if (config_.packet_pair && r.play_incarnation == kMmsUsePacketPair && !probed_) {
        fi.funnel_info.play_incarnation =
            udp_ ? kMmsUseHighEntropyPacketPairUdp : kMmsUseHighEntropyPacketPairTcp;
      }
      pairs_seen_ = 0;
      send(&fi);
      state_ = State::kAwaitFunnelInfo;
      return;
    }
    case kLinkMacToViewerReportFunnelInfo: {
      if (state_ != State::kAwaitFunnelInfo) {
        return;  // packet-pair repeats
      }
      const ReportFunnelInfo& r = m.report_funnel_info;
      if (hr_failed(r.hr)) {
        fail(status_for_hresult(r.hr, Code::kRefused), hr_text(r.hr));
        return;
      }
      if (!probed_ && (r.play_incarnation == kMmsUsePacketPair ||
                       r.play_incarnation == kMmsUseHighEntropyPacketPairTcp)) {
        // TCP packet pair: the second and third over the time after the first.
        if (++pairs_seen_ == 1) {
          probe_.first(now, unread_after_unit_);
          return;
        }
        probe_.later(unit_wire_);
        if (pairs_seen_ < 3) {
          return;
        }
        report_bandwidth(probe_.finish(now, unread_after_unit_));
      } else if (!probed_ && r.play_incarnation == kMmsUseHighEntropyPacketPairUdp) {
        udp_pair_expected_ = true;  // two UDP Data packets after ReadBlock
      }
      client_id_ = r.n_cubs;
      Message cf = make_message(kLinkViewerToMacConnectFunnel);
      // The client's own address of the control connection, as Windows Media
      // Player names it (the server sends UDP data to the TCP peer address).
      const char* ip = local_ip_.empty() ? "127.0.0.1" : local_ip_.c_str();
      char name[96];
      if (udp_) {
        std::snprintf(name, sizeof name, "\\\\%s\\UDP\\%u", ip, udp_port_);
      } else {
        std::snprintf(name, sizeof name, "\\\\%s\\TCP\\%u", ip, kFakeTcpFunnelPort);
      }
      cf.connect_funnel.funnel_name = name;
      send(&cf);
      state_ = State::kAwaitFunnel;
      return;
    }
    case kLinkMacToViewerReportConnectedFunnel:
      if (state_ != State::kAwaitFunnel) {
        return;
      }
      if (hr_failed(m.report_connected_funnel.hr)) {
        fail(status_for_hresult(m.report_connected_funnel.hr, Code::kRefused),
             hr_text(m.report_connected_funnel.hr));
        return;
      }
      send_open_file(now);
      return;
    case kLinkMacToViewerReportDisconnectedFunnel:
      fail(Status(Code::kRefused,
                  udp_ ? "server refused UDP data delivery" : "server refused TCP data delivery",
                  m.report_disconnected_funnel.hr),
           hr_text(m.report_disconnected_funnel.hr));
      return;
    case kLinkMacToViewerSecurityChallenge:
      if (state_ != State::kAwaitOpen) {
        return;
      }
      answer_challenge(m.security, now);
      return;
    case kLinkMacToViewerReportRedirect:
      follow_redirect(m.report_redirect, now);
      return;
    case kLinkMacToViewerReportOpenFile: {
      if (state_ != State::kAwaitOpen) {
        return;
      }
      const ReportOpenFile& r = m.report_open_file;
      if (hr_failed(r.hr)) {
        fail(status_for_hresult(r.hr, Code::kRefused), hr_text(r.hr));
        return;
      }
      if (r.file_packet_size == 0 || r.file_packet_size > limits::kMaxAsfPacketSize) {
        fail(Status(Code::kMalformed, "server announced an unusable packet size",
                    r.file_packet_size));
        return;
      }
      if (r.file_header_size > limits::kMaxAsfHeaderBytes) {
        fail(Status(Code::kLimitExceeded, "server announced an oversized ASF header",
                    r.file_header_size));
        return;
      }
      open_file_id_ = r.open_file_id;
      file_attributes_ = r.file_attributes;
      file_header_size_ = r.file_header_size;
      send_read_block(now);
      return;
    }
    case kLinkMacToViewerReportReadBlock:
      if (hr_failed(m.report_read_block.hr)) {
        fail(status_for_hresult(m.report_read_block.hr, Code::kRefused),
             hr_text(m.report_read_block.hr));
      }
      return;
    case kLinkMacToViewerReportStreamSwitch:
      if (hr_failed(m.report_stream_switch.hr)) {
        fail(status_for_hresult(m.report_stream_switch.hr, Code::kRefused),
             hr_text(m.report_stream_switch.hr));
      }
      return;
    case kLinkMacToViewerReportStartedPlaying: {
      const ReportStartedPlaying& r = m.report_started_playing;
      if (incarnation_byte(r.play_incarnation) != play_inc_) {
        return;  // answers a superseded StartPlaying
      }
      if (hr_failed(r.hr)) {
        fail(status_for_hresult(r.hr, Code::kRefused), hr_text(r.hr));
        return;
      }
      if (state_ == State::kAwaitStarted) {
        state_ = State::kStreaming;
      }
      return;
    }
    case kLinkMacToViewerReportEndOfStream: {
      const ReportEndOfStream& r = m.report_end_of_stream;
      if (incarnation_byte(r.play_incarnation) != play_inc_) {
        return;  // a stale end that crossed a newer StartPlaying
      }
      if (hr_failed(r.hr)) {
        fail(status_for_hresult(r.hr, Code::kPeerViolation), hr_text(r.hr));
        return;
      }
      if (stop_sent_) {
        return;  // acknowledges our StopPlaying (pause)
      }
      Message lg = make_message(kLinkViewerToMacLogging);
      lg.logging.log =
          make_client_log(open_file_id_, current_url_.redacted(), udp_ ? "UDP" : "TCP");
      send(&lg);
      if (r.hr == kHrFalse) {
        state_ = State::kWaitChange;  // a ReportStreamChange follows
        return;
      }
      finish_eos(now);
      return;
    }
    case kLinkMacToViewerReportStreamChange: {
      const ReportStreamChange& r = m.report_stream_change;
      if (hr_failed(r.hr)) {
        fail(status_for_hresult(r.hr, Code::kPeerViolation), hr_text(r.hr));
        return;
      }
      if (r.cb_packet_size == 0 || r.cb_packet_size > limits::kMaxAsfPacketSize ||
          r.cb_header_size > limits::kMaxAsfHeaderBytes) {
        fail(Status(Code::kMalformed, "server announced an unusable playlist entry"));
        return;
      }
      MMS_LOG(LogLevel::kInfo, kLog, "stream change: header %u bytes, packets %u bytes",
              r.cb_header_size, r.cb_packet_size);
      after_change_ = true;
      eos_pending_ = false;
      position_ms_ = 0;
      file_header_size_ = r.cb_header_size;
      window_.clear();
      if (udp_) {
        send_read_block(now);
      } else {
        // TCP: the new header follows at once, tagged 0xFF.
        expected_header_inc_ = kPacketPairIncarnation;
        assembler_.reset(file_header_size_);
        state_ = State::kAwaitHeader;
      }
      return;
    }
    default:
      MMS_LOG(LogLevel::kDebug, kLog, "ignoring %s (0x%08x)", mid_to_string(m.mid), m.mid);
      return;
  }
}

void MmstClientSession::follow_redirect(const ReportRedirect& r, Instant now) {
  if (r.redirect_type != kRedirectUrl) {
    fail(Status(Code::kUnsupported, "server asks for a proxy (redirect type 2)"));
    return;
  }
  if (++redirects_ > limits::kMaxRedirects) {
    fail(Status(Code::kLimitExceeded, "too many redirects"));
    return;
  }
  Result<Url> next = parse_url(r.wsz_location);
  if (!next.ok()) {
    fail(Status(Code::kMalformed, "server sent a bad redirect URL"));
    return;
  }
  if (next->scheme != "mms" && next->scheme != "mmst" && next->scheme != "mmsu") {
    // Another transport family (mmsh://, rtsp://): the rollover follows it.
    close_channels();
    state_ = State::kFailed;
    events_.push_back(session::redirected_elsewhere(*next, current_url_));
    return;
  }
  // Credentials from the URL follow a redirect only to the same host.
  if (next->user.empty() && next->host == current_url_.host) {
    next->user = current_url_.user;
    next->password = current_url_.password;
  }
  current_url_ = *next;
  session::Event e;
  e.kind = session::Event::Kind::kRedirect;
  e.url = current_url_.redacted();
  events_.push_back(std::move(e));
  // Start over on a new control connection, keeping the transport and the UDP port.
  if (tcp_ != 0) {
    session::IoAction a;
    a.kind = session::IoAction::Kind::kClose;
    a.channel = tcp_;
    actions_.push_back(std::move(a));
    tcp_ = 0;
  }
  open_file_id_ = 0;
  auth_rounds_ = 0;
  ntlm_stage_ = NtlmStage::kNone;
  gate_.forget();
  connect_tcp(now);
}

// --- authentication (docs/protocols/mmsp-reference.md §6) -------------------------

void MmstClientSession::answer_challenge(const Security& c, Instant now) {
  // The scheme of a challenge (MS-MMSP 3.1.5.8): 00 00 is NTLM; an empty one
  // keeps the AuthenPackage of ReportConnectedEX; an NTLM handshake under way
  // stays NTLM.
  const ByteView token(c.p_token.data(), c.p_token.size());
  const bool ntlm =
      is_ntlm_token(token) ||
      (c.p_token.empty() && (authen_package_ == "NTLM" || ntlm_stage_ != NtlmStage::kNone));
  const bool from_config = !config_.user.empty();
  const std::string user = from_config ? config_.user : current_url_.user;
  const std::string password = from_config ? config_.password : current_url_.password;
  if (user.empty()) {
    fail(Status(Code::kNotAuthorized, "server requires authentication"), ntlm ? "NTLM" : "BASIC");
    return;
  }
  if (ntlm) {
    answer_ntlm(c, user, password, now);
    return;
  }
  if (auth_rounds_ >= kMaxAuthRounds) {
    fail(Status(Code::kNotAuthorized, "server rejected the credentials"));
    return;
  }
  ++auth_rounds_;
  Message r = make_message(kLinkViewerToMacSecurityResponse);
  r.security.play_incarnation = c.play_incarnation;
  r.security.cookie = c.cookie;
  r.security.p_token = basic_response_token(user, password);
  send(&r);
  touch(now);
}

auth::ntlm::Nonce8 MmstClientSession::ntlm_client_challenge() {
  // The session's random material is its client GUID (generated by the
  // caller); each challenge is salted with a counter.
  return auth::ntlm::nonce_from("mms-ntlm-client:" + config_.client_guid + ":" +
                                std::to_string(++ntlm_nonces_));
}

void MmstClientSession::answer_ntlm(const Security& c, const std::string& user,
                                    const std::string& password, Instant now) {
  // An empty pToken (AuthenPackage NTLM) is the initial challenge too.
  auto parsed = c.p_token.empty() ? Result<NtlmToken>(NtlmToken{})
                                  : parse_ntlm_token(ByteView(c.p_token.data(), c.p_token.size()));
  if (!parsed.ok()) {
    fail(Status(Code::kMalformed, "server sent a malformed NTLM challenge"),
         parsed.status().what());
    return;
  }
  const ByteView ntlmssp = parsed->ntlmssp;
  std::vector<std::uint8_t> answer;
  if (ntlmssp.empty()) {
    // The initial challenge: the handshake starts (again, after an
    // AUTHENTICATE, which means the credentials were rejected).
    if (ntlm_stage_ == NtlmStage::kAuthenticate || auth_rounds_ >= kMaxAuthRounds) {
      fail(Status(Code::kNotAuthorized, "server rejected the credentials"), "NTLM");
      return;
    }
    if (ntlm_stage_ == NtlmStage::kNegotiate) {
      fail(Status(Code::kPeerViolation, "server answered the NTLM NEGOTIATE without a CHALLENGE"),
           "NTLM");
      return;
    }
    const auth::ntlm::ClientContext negotiator({}, auth::ntlm::Nonce8{}, 0);
    const std::string negotiate = negotiator.negotiate();
    answer = make_ntlm_token(ByteView::of(negotiate), true);
    ntlm_stage_ = NtlmStage::kNegotiate;
  } else if (auth::ntlm::message_type(ntlmssp) == 2) {
    // A CHALLENGE_MESSAGE: after our NEGOTIATE, or straight away.
    if (ntlm_stage_ == NtlmStage::kAuthenticate || auth_rounds_ >= kMaxAuthRounds) {
      fail(Status(Code::kNotAuthorized, "server rejected the credentials"), "NTLM");
      return;
    }
    auth::ntlm::ClientContext ctx(auth::ntlm::credentials_for(user, password),
                                  ntlm_client_challenge(), auth::ntlm::filetime_now());
    auto authenticate = ctx.authenticate(ntlmssp);
    if (!authenticate.ok()) {
      fail(Status(authenticate.status().code() == Code::kUnsupported ? Code::kNotAuthorized
                                                                     : Code::kMalformed,
                  "server sent an unusable NTLM challenge"),
           authenticate.status().what());
      return;
    }
    answer = make_ntlm_token(ByteView::of(*authenticate), parsed->wrapped);
    ntlm_stage_ = NtlmStage::kAuthenticate;
    ++auth_rounds_;
  } else {
    fail(Status(Code::kMalformed, "server sent an NTLM token that is not a challenge"),
         "NTLM message type " + std::to_string(auth::ntlm::message_type(ntlmssp)));
    return;
  }
  Message r = make_message(kLinkViewerToMacSecurityResponse);
  r.security.play_incarnation = c.play_incarnation;
  r.security.cookie = c.cookie;
  r.security.p_token = std::move(answer);
  send(&r);
  touch(now);
}

// --- data -----------------------------------------------------------------------

void MmstClientSession::report_bandwidth(std::optional<std::uint64_t> bps) {
  probed_ = true;
  udp_pair_expected_ = false;
  gate_.set_measured_bandwidth(bps.value_or(0));
  MMS_LOG(LogLevel::kInfo, kLog, "%s: packet pair: %s", transport_name(),
          bps ? (std::to_string(*bps / 1000) + " kbit/s").c_str() : "too fast to measure");
  session::Event e;
  e.kind = session::Event::Kind::kBandwidth;
  e.bandwidth_bps = bps.value_or(0);
  events_.push_back(std::move(e));
}

void MmstClientSession::handle_data(const DataPacket& p, bool from_udp, Instant now) {
  if (p.play_incarnation == kPacketPairIncarnation && p.af_flags == kAfPacketPair) {
    // UDP packet pair (MS-MMSP 3.2.5.8): the second's size over the gap.
    if (from_udp && udp_pair_expected_ && !probed_) {
      if (p.location_id == kPacketPairLocationId0) {
        probe_.first(now, 0);
        pairs_seen_ = 1;
      } else if (p.location_id == kPacketPairLocationId1 && pairs_seen_ == 1) {
        probe_.later(p.packet_size);
        report_bandwidth(probe_.finish(now));
      }
    }
    return;  // not asked for, or a repeat: dropped
  }
  if (state_ == State::kAwaitHeader && expected_header_inc_ != 0 &&
      p.play_incarnation == expected_header_inc_) {
    handle_header_fragment(p, from_udp, now);
    return;
  }
  if (is_play_incarnation(p.play_incarnation)) {
    handle_media(p, from_udp, now);
  }
  // Anything else belongs to a superseded request (old header, 0xFF data after
  // a playlist change before our StartPlaying): dropped.
}

void MmstClientSession::handle_header_fragment(const DataPacket& p, bool from_udp, Instant now) {
  if (!from_udp) {
    Result<bool> r = assembler_.add(p);
    if (!r.ok()) {
      fail(r.status());
      return;
    }
    if (*r) {
      handle_complete_header(assembler_.header(), now);
    }
    return;
  }
  // UDP: fragments may come in any order; collect them by LocationId.
  if (udp_fragments_.count(p.location_id) != 0) {
    return;
  }
  if (udp_fragments_.size() >= kMaxUdpHeaderFragments ||
      udp_fragment_bytes_ + p.payload.size() > limits::kMaxAsfHeaderBytes) {
    fail(Status(Code::kLimitExceeded, "ASF header over UDP is too large"));
    return;
  }
  udp_fragments_[p.location_id].assign(p.payload.begin(), p.payload.end());
  udp_fragment_bytes_ += p.payload.size();
  if ((p.af_flags & kAfHeaderLastBit) != 0) {
    udp_last_fragment_ = p.location_id;
  }
  if (!udp_last_fragment_ || udp_fragments_.size() != std::size_t{*udp_last_fragment_} + 1 ||
      udp_fragments_.rbegin()->first != *udp_last_fragment_) {
    return;  // still missing some
  }
  assembler_.reset(file_header_size_);
  for (const auto& [loc, bytes] : udp_fragments_) {
    DataPacket f;
    f.location_id = loc;
    f.play_incarnation = p.play_incarnation;
    f.af_flags = loc == *udp_last_fragment_ ? kAfHeaderLast : kAfHeaderMore;
    f.packet_size = static_cast<std::uint16_t>(bytes.size() + kDataHeaderSize);
    f.payload = ByteView(bytes.data(), bytes.size());
    Result<bool> r = assembler_.add(f);
    if (!r.ok()) {
      fail(r.status());
      return;
    }
  }
  std::vector<std::uint8_t> header = assembler_.header();
  udp_fragments_.clear();
  udp_fragment_bytes_ = 0;
  handle_complete_header(header, now);
}

void MmstClientSession::handle_complete_header(const std::vector<std::uint8_t>& raw, Instant now) {
  header_retry_at_.reset();
  header_retries_ = 0;
  expected_header_inc_ = 0;
  const bool new_entry = after_change_;
  after_change_ = false;
  Result<asf::HeaderGate::Verdict> v = gate_.offer(ByteView(raw), new_entry);
  if (!v.ok()) {
    fail(v.status());
    return;
  }
  if (v->fresh()) {
    all_selected_ = gate_.all_selected();
    session::Event e;
    e.kind = session::Event::Kind::kHeader;
    e.header = gate_.header();
    e.info = std::make_shared<const asf::HeaderInfo>(gate_.info());
    e.changed = v->changed;
    e.playlist = (file_attributes_ & kFileAttributePlaylist) != 0;
    events_.push_back(std::move(e));
  }
  if (new_entry) {
    last_location_.reset();
    discont_pending_ = false;
  }
  switch_needed_ = true;
  send_start(now, std::nullopt);
}

// --- timers and flow control -----------------------------------------------------

bool MmstClientSession::live() const {
  return (gate_.known() && gate_.info().broadcast()) ||
         (file_attributes_ & (kFileAttributeBroadcast | kFileAttributeLive)) != 0;
}

bool MmstClientSession::seekable() const {
  return gate_.known() && gate_.info().seekable() && !live() &&
         (file_attributes_ & kFileAttributeCanSeek) != 0;
}

void MmstClientSession::on_timeout(Instant now) {
  window_.release_storage();
  if (state_ == State::kFailed || state_ == State::kDone) {
    return;
  }
  if (throttle_grace_over(now)) {
    pause_server();
  }
  if (udp_wait_since_ && !udp_seen_ && config_.udp_timeout > 0 &&
      now >= *udp_wait_since_ + config_.udp_timeout) {
    fail(Status(Code::kTimedOut, "no UDP data from the server"));
    return;
  }
  if (header_retry_at_ && now >= *header_retry_at_ && state_ == State::kAwaitHeader && udp_) {
    if (++header_retries_ > kMaxUdpHeaderRetries) {
      fail(Status(Code::kTimedOut, "the ASF header did not arrive over UDP"));
      return;
    }
    Message c = make_message(kLinkViewerToMacCancelReadBlock);
    c.cancel_read_block.play_incarnation = expected_header_inc_;
    send(&c);
    send_read_block(now);
  }
  if (window_.has_missing()) {
    if (std::optional<UdpReceiveWindow::Replay> r = window_.on_timeout(now, window_context())) {
      replay(r->seq, r->why, now);
    }
    maybe_finish_eos(now);
  }
  if (state_ == State::kFailed || state_ == State::kDone) {
    return;
  }
  std::optional<Instant> idle = idle_deadline();
  if (idle && now >= *idle) {
    const bool setup = state_ != State::kStreaming && state_ != State::kWaitChange;
    fail(Status(Code::kTimedOut, setup ? "the MMS server did not answer in time"
                                       : "no data from the server in time"));
  }
}

std::optional<Instant> MmstClientSession::idle_deadline() const {
  if (throttled_ || config_.timeout <= 0) {
    return std::nullopt;
  }
  if (state_ == State::kAwaitConnected && config_.first_reply_timeout > 0 &&
      config_.first_reply_timeout < config_.timeout) {
    return last_activity_ + config_.first_reply_timeout;
  }
  switch (state_) {
    case State::kBinding:
    case State::kConnecting:
    case State::kAwaitConnected:
    case State::kAwaitFunnelInfo:
    case State::kAwaitFunnel:
    case State::kAwaitOpen:
    case State::kAwaitHeader:
    case State::kAwaitStarted:
    case State::kStreaming:
      return last_activity_ + config_.timeout;
    case State::kWaitChange:
      return last_activity_ + config_.timeout * kStreamChangeTimeoutFactor;
    default:
      return std::nullopt;
  }
}

std::optional<Instant> MmstClientSession::next_deadline() const {
  if (state_ == State::kFailed || state_ == State::kDone) {
    return std::nullopt;
  }
  std::optional<Instant> d = idle_deadline();
  auto consider = [&d](Instant t) {
    if (!d || t < *d) {
      d = t;
    }
  };
  if (udp_wait_since_ && !udp_seen_ && config_.udp_timeout > 0) {
    consider(*udp_wait_since_ + config_.udp_timeout);
  }
  if (header_retry_at_ && state_ == State::kAwaitHeader) {
    consider(*header_retry_at_);
  }
  if (throttle_grace_until_) {
    consider(*throttle_grace_until_);
  }
  if (std::optional<Instant> w = window_.next_deadline()) {
    consider(*w);
  }
  return d;
}

// --- failure and drains -------------------------------------------------------

void MmstClientSession::fail(Status status, std::string detail) {
  if (state_ == State::kFailed) {
    return;
  }
  MMS_LOG(LogLevel::kInfo, kLog, "%s failed: %s (%s, detail 0x%x)", transport_name(), status.what(),
          to_string(status.code()), status.detail());
  close_channels();
  state_ = State::kFailed;
  events_.push_back(session::failed_event(status, std::move(detail)));
}

bool MmstClientSession::next_io_action(session::IoAction* out) {
  return session::pop_front(&actions_, out);
}

bool MmstClientSession::next_event(session::Event* out) {
  return session::pop_front(&events_, out);
}

}  // namespace mms::mmst
