// MMS server session: connection, handshake and commands (Connect .. OpenFile,
// ReadBlock, StreamSwitch), output. Playing, Data pacing and UDP resends are in
// protocol/mmst/server_stream.cpp. See server_session.h for the contract and
// docs/protocols/mmsp-reference.md (§4.3 server duties, §4.4 seeking, §4.6 live, §4.8
// playlists, §4.10 timers, §5 UDP, §6 auth, §8 client quirks).
#include "protocol/mmst/server_session.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>
#include <utility>

#include "protocol/asf/packet.h"
#include "protocol/core/byte_reader.h"
#include "protocol/core/log.h"
#include "protocol/core/text.h"

namespace mms::mmst {
namespace {

constexpr const char* kLog = "mmst-server";
// ServerVersionInfo: clients gate features on major >= 9.
constexpr const char* kServerVersion = "9.01.01.3841";
constexpr const char* kAuthPackageBasic = "BASIC";
constexpr const char* kAuthPackageNtlm = "NTLM";
constexpr const char* kRealm = "mms-server";
constexpr std::size_t kStreamSlots = 128;

bool is_spoon(const std::string& name) {
  // "Spoooon!" (any number of o's): WMS 4.x server-to-server.
  if (name.size() < 5 || name.compare(0, 3, "Spo") != 0) {
    return false;
  }
  std::size_t i = 3;
  while (i < name.size() && name[i] == 'o') {
    ++i;
  }
  return name.compare(i, 2, "n!") == 0;
}

// "\\ip\UDP\port" -> port for UDP, 0 for TCP (or anything unparsable).
std::uint16_t funnel_udp_port(const std::string& funnel, bool* udp) {
  *udp = false;
  const std::size_t last = funnel.rfind('\\');
  if (last == std::string::npos || last == 0) {
    return 0;
  }
  const std::size_t prev = funnel.rfind('\\', last - 1);
  if (prev == std::string::npos) {
    return 0;
  }
  if (!iequals(std::string_view(funnel).substr(prev + 1, last - prev - 1), "udp")) {
    return 0;
  }
  std::uint32_t port = 0;
  std::string digits;
  for (std::size_t i = last + 1; i < funnel.size() && funnel[i] >= '0' && funnel[i] <= '9'; ++i) {
    digits.push_back(funnel[i]);
  }
  if (digits.empty() || digits.size() > 5 || !parse_u32(digits, &port) || port == 0 ||
      port > 65535) {
    return 0;
  }
  *udp = true;
  return static_cast<std::uint16_t>(port);
}

// Content name of an OpenFile path: leading '/' and any query removed.
std::string content_name(std::string path) {
  const std::size_t q = path.find('?');
  if (q != std::string::npos) {
    path.resize(q);
  }
  while (!path.empty() && (path.front() == '/' || path.front() == '\\')) {
    path.erase(0, 1);
  }
  return path;
}

}  // namespace

ServerSession::ServerSession(const ServerConfig* config, std::uint32_t client_id, Instant now,
                             std::uint64_t seed)
    : config_(config),
      client_id_(client_id),
      seed_(seed),
      session_start_(now),
      idle_at_(now + config->idle_timeout),
      now_(now) {}

// ---------------------------------------------------------------------------
// Input

Result<std::size_t> ServerSession::on_bytes(ByteView in, Instant now) {
  now_ = now;
  if (state_ == State::kDone || peer_gone_) {
    return in.size();  // closing: later bytes are discarded
  }
  std::size_t used = 0;
  while (used < in.size() && state_ != State::kDone) {
    Message m;
    Status error;
    const Decode d = decode_message(in.subview(used), &m, &error);
    if (d == Decode::kNeedMore) {
      break;
    }
    if (d == Decode::kError) {
      MMS_LOG(LogLevel::kWarning, kLog, "client-id=%u: bad command: %s", client_id_, error.what());
      state_ = State::kDone;
      return error;
    }
    used += m.wire_size;
    ping_at_.reset();  // any received packet stops KeepAlive
    if (state_ != State::kStreaming) {
      idle_at_ = now + config_->idle_timeout;
    }
    handle_message(m, now);
    ByteView extra = m.extra_messages;  // robust receivers loop over every message
    while (!extra.empty() && state_ != State::kDone) {
      Message e;
      std::size_t n = 0;
      if (decode_body(extra, &e, &n, &error) != Decode::kDone || n == 0) {
        break;
      }
      extra = extra.subview(n);
      handle_message(e, now);
    }
  }
  return used;
}

void ServerSession::on_eof(Instant now) {
  now_ = now;
  peer_gone_ = true;
  state_ = State::kDone;
  pending_.clear();
  pending_pos_ = 0;
  datagrams_.clear();
}

void ServerSession::on_timeout(Instant now) {
  now_ = now;
  if (state_ == State::kDone) {
    return;
  }
  if (state_ != State::kStreaming && idle_at_ && now >= *idle_at_) {
    MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: idle timeout", client_id_);
    state_ = State::kDone;
    return;
  }
  if (ping_at_ && now >= *ping_at_) {
    Message p = make_message(kLinkMacToViewerPing);
    send(&p);  // restarts KeepAlive
  }
}

std::optional<Instant> ServerSession::next_deadline() const {
  if (state_ == State::kDone) {
    return std::nullopt;
  }
  std::optional<Instant> at = ping_at_;
  auto earliest = [&at](Instant t) {
    if (!at || t < *at) {
      at = t;
    }
  };
  if (state_ != State::kStreaming && idle_at_) {
    earliest(*idle_at_);
  }
  if (!datagrams_.empty()) {
    earliest(now_);  // the I/O layer yielded with datagrams left
  }
  if (state_ == State::kStreaming && pending_pos_ >= pending_.size() && datagrams_.empty() &&
      content_) {
    if (content_->fed() && next_packet_ >= content_->packet_count() && !content_->ended()) {
      // Waiting for the feed: the I/O layer calls again when it grows.
    } else if (udp_port_ != 0 && !paced_) {
      earliest(pacer_.next_send(now_));
    } else if (paced_ && next_packet_ < content_->packet_count()) {
      earliest(due_time(next_packet_) + (-kMmsPacingSlack));
    } else {
      earliest(now_);  // end of entry to report
    }
  }
  return at;
}

// ---------------------------------------------------------------------------
// Output

void ServerSession::send(Message* m) {
  m->header.seq = seq_++;
  m->header.time_sent =
      static_cast<std::uint64_t>(std::max<Duration>(0, now_ - session_start_) / kMillisecond);
  const Status st = encode_message(*m, &pending_);
  if (!st.ok()) {
    MMS_LOG(LogLevel::kError, kLog, "client-id=%u: cannot encode %s: %s", client_id_,
            mid_to_string(m->mid), st.what());
    return;
  }
  MMS_LOG(LogLevel::kDebug, kLog, "client-id=%u: -> %s", client_id_, mid_to_string(m->mid));
  ping_at_ = now_ + config_->keepalive;  // every message sent restarts KeepAlive
}

void ServerSession::emit_data(std::uint32_t location_id, std::uint8_t inc, std::uint8_t af_flags,
                              ByteView payload, bool media) {
  if (udp_port_ == 0) {
    (void)encode_data_packet(location_id, inc, af_flags, payload, &pending_);
    return;
  }
  Datagram d;
  d.header = !media;
  if (!encode_data_packet(location_id, inc, af_flags, payload, &d.bytes).ok()) {
    return;
  }
  datagrams_.push_back(std::move(d));
}

void ServerSession::forget_history() {
  history_.clear();
}

const ServerSession::Sent* ServerSession::find_sent(std::uint32_t sequence) const {
  if (history_.empty()) {
    return nullptr;
  }
  // Sequences rise by one per packet (two at a new play after 0xFE); offsets
  // from the oldest keep the order across a 32-bit wrap.
  const std::uint32_t first = history_.front().sequence;
  const std::uint32_t want = sequence - first;
  const auto it = std::lower_bound(
      history_.begin(), history_.end(), want,
      [first](const Sent& h, std::uint32_t off) { return h.sequence - first < off; });
  if (it == history_.end() || it->sequence != sequence) {
    return nullptr;
  }
  return &*it;
}

ByteView ServerSession::next_output(Instant now) {
  now_ = now;
  if (peer_gone_) {
    return ByteView();
  }
  if (pending_pos_ >= pending_.size()) {
    pending_.clear();
    pending_pos_ = 0;
    // TCP: everything travels here. UDP: only the end-of-stream messages, after the last
    // datagram.
    if (udp_port_ == 0 || (state_ == State::kStreaming && content_ &&
                           next_packet_ >= content_->packet_count() && datagrams_.empty())) {
      produce(now);
    }
  }
  return ByteView(pending_.data() + pending_pos_, pending_.size() - pending_pos_);
}

void ServerSession::consume_output(std::size_t n) {
  pending_pos_ += std::min(n, pending_.size() - pending_pos_);
}

ByteView ServerSession::next_datagram(Instant now) {
  now_ = now;
  if (peer_gone_ || udp_port_ == 0) {
    return ByteView();
  }
  if (datagrams_.empty()) {
    produce(now);
  }
  if (datagrams_.empty()) {
    return ByteView();
  }
  return ByteView(datagrams_.front().bytes);
}

void ServerSession::consume_datagram() {
  if (!datagrams_.empty()) {
    datagrams_.pop_front();
  }
}

std::size_t ServerSession::next_datagrams(Instant now, ByteView* out, std::size_t max) {
  now_ = now;
  if (peer_gone_ || udp_port_ == 0) {
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
  const std::size_t n = std::min(max, datagrams_.size());
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = ByteView(datagrams_[i].bytes);
  }
  return n;
}

void ServerSession::consume_datagrams(std::size_t n) {
  datagrams_.erase(datagrams_.begin(), datagrams_.begin() + static_cast<std::ptrdiff_t>(
                                                                std::min(n, datagrams_.size())));
}

bool ServerSession::wants_close() const {
  if (peer_gone_) {
    return true;
  }
  return state_ == State::kDone && pending_pos_ >= pending_.size();
}

// ---------------------------------------------------------------------------
// Messages

void ServerSession::handle_message(const Message& m, Instant now) {
  MMS_LOG(LogLevel::kDebug, kLog, "client-id=%u: <- %s", client_id_, mid_to_string(m.mid));
  if (state_ == State::kInit && m.mid != kLinkViewerToMacConnect) {
    if (m.mid == kLinkViewerToMacCloseFile) {
      state_ = State::kDone;
      return;
    }
    MMS_LOG(LogLevel::kWarning, kLog, "client-id=%u: %s before Connect: closing", client_id_,
            mid_to_string(m.mid));
    state_ = State::kDone;
    return;
  }
  switch (m.mid) {
    case kLinkViewerToMacConnect:
      on_connect(m);
      break;
    case kLinkViewerToMacFunnelInfo:
      on_funnel_info(m);
      break;
    case kLinkViewerToMacConnectFunnel:
      on_connect_funnel(m);
      break;
    case kLinkViewerToMacOpenFile:
      on_open_file(m);
      break;
    case kLinkViewerToMacSecurityResponse:
      on_security_response(m);
      break;
    case kLinkViewerToMacReadBlock:
      on_read_block(m);
      break;
    case kLinkViewerToMacStreamSwitch:
      on_stream_switch(m);
      break;
    case kLinkViewerToMacStartPlaying:
      on_start_playing(m, now);
      break;
    case kLinkViewerToMacStartStriding: {
      Message r = make_message(kLinkMacToViewerReportStartStriding);
      r.report_start_striding.hr = kNsEStrideRefused;
      r.report_start_striding.play_incarnation = m.start_striding.play_incarnation;
      send(&r);
      break;
    }
    case kLinkViewerToMacStopPlaying:
      on_stop_playing(m);
      break;
    case kLinkViewerToMacCloseFile:
      MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: CloseFile", client_id_);
      state_ = State::kDone;
      break;
    case kLinkViewerToMacCancelReadBlock:
      // Drop header packets not sent yet (UDP); TCP ones are already queued in order.
      datagrams_.erase(std::remove_if(datagrams_.begin(), datagrams_.end(),
                                      [](const Datagram& d) { return d.header; }),
                       datagrams_.end());
      break;
    case kLinkViewerToMacLogging:
      MMS_LOG(LogLevel::kDebug, kLog, "client-id=%u: Logging (%zu bytes)", client_id_,
              m.logging.log.size());
      break;
    case kLinkViewerToMacPong:
      break;
    default:
      MMS_LOG(LogLevel::kWarning, kLog, "client-id=%u: ignoring MID 0x%08x", client_id_, m.mid);
      break;
  }
}

void ServerSession::on_connect(const Message& m) {
  if (state_ != State::kInit) {
    MMS_LOG(LogLevel::kWarning, kLog, "client-id=%u: second Connect ignored", client_id_);
    return;
  }
  const std::string& name = m.connect.subscriber_name;
  spoon_ = is_spoon(name);
  const int major = player_major_version(name);
  player_major_ = major > 0 ? static_cast<std::uint32_t>(major) : 0;
  MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: Connect '%.120s'", client_id_, name.c_str());
  Message r = make_message(kLinkMacToViewerReportConnectedEX);
  if (busy_) {
    MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: server full (hr 0x%08x)", client_id_,
            kNsETooManySess);
    r.report_connected_ex.hr = kNsETooManySess;
    send(&r);
    served_status_ = 503;
    state_ = State::kDone;
    return;
  }
  r.report_connected_ex.hr = kHrOk;
  // Packet pair when the client asks for it (MS-MMSP 3.2.5.3).
  pair_granted_ = config_->packet_pair && m.connect.play_incarnation == kMmsUsePacketPair;
  r.report_connected_ex.play_incarnation =
      pair_granted_ ? kMmsUsePacketPair : kMmsDisablePacketPair;
  r.report_connected_ex.server_version_info = kServerVersion;
  if (!config_->auth.user.empty()) {
    r.report_connected_ex.authen_package = ntlm_offered() ? kAuthPackageNtlm : kAuthPackageBasic;
  }
  send(&r);
  state_ = State::kConnected;
}

void ServerSession::on_funnel_info(const Message& m) {
  const std::uint32_t asked = m.funnel_info.play_incarnation;
  const bool tcp_pair =
      pair_granted_ && (asked == kMmsUseHighEntropyPacketPairTcp || asked == kMmsUsePacketPair);
  const bool udp_pair = pair_granted_ && asked == kMmsUseHighEntropyPacketPairUdp;
  Message r = make_message(kLinkMacToViewerReportFunnelInfo);
  r.report_funnel_info.hr = kHrOk;
  r.report_funnel_info.play_incarnation = tcp_pair || udp_pair ? asked : kMmsDisablePacketPair;
  r.report_funnel_info.n_cubs = client_id_;
  if (!tcp_pair) {
    udp_pair_pending_ = udp_pair;  // sent after the next ReadBlock
    send(&r);
    return;
  }
  // TCP packet pair (MS-MMSP 3.2.5.4): three messages back to back, of 512,
  // 512 and 1056 bytes with their TcpMessageHeader, filled with fresh bytes.
  constexpr std::size_t kPairData[3] = {432, 432, 976};
  for (std::size_t n : kPairData) {
    r.report_funnel_info.packet_pair_data.resize(n);
    fill_pair_bytes(&r.report_funnel_info.packet_pair_data);
    send(&r);
  }
}

void ServerSession::fill_pair_bytes(std::vector<std::uint8_t>* out) {
  // Not secret: only so that a compressing link cannot shrink the probe.
  for (std::uint8_t& b : *out) {
    pair_noise_ = pair_noise_ * 6364136223846793005ull + 1442695040888963407ull;
    b = static_cast<std::uint8_t>(pair_noise_ >> 56);
  }
}

void ServerSession::on_connect_funnel(const Message& m) {
  bool udp = false;
  const std::uint16_t port = funnel_udp_port(m.connect_funnel.funnel_name, &udp);
  if (udp && config_->refuse_udp) {
    MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: UDP funnel '%.80s' refused", client_id_,
            m.connect_funnel.funnel_name.c_str());
    Message r = make_message(kLinkMacToViewerReportDisconnectedFunnel);
    r.report_disconnected_funnel.hr = kNsENoFunnel;
    send(&r);
    return;
  }
  if (state_ == State::kStreaming) {
    MMS_LOG(LogLevel::kWarning, kLog, "client-id=%u: ConnectFunnel while streaming ignored",
            client_id_);
  } else {
    udp_port_ = udp ? port : 0;
    used_udp_ = used_udp_ || udp_port_ != 0;
  }
  MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: funnel '%.80s' -> %s data", client_id_,
          m.connect_funnel.funnel_name.c_str(), udp_port_ != 0 ? "UDP" : "TCP");
  Message r = make_message(kLinkMacToViewerReportConnectedFunnel);
  r.report_connected_funnel.hr = kHrOk;
  send(&r);
}

bool ServerSession::credentials_ok(ByteView token) const {
  std::string s(token.as_string_view());
  while (!s.empty() &&
         (s.back() == '\0' || s.back() == ' ' || s.back() == '\r' || s.back() == '\n')) {
    s.pop_back();
  }
  if (s.size() > 6 && (s.compare(0, 6, "Basic ") == 0 || s.compare(0, 6, "BASIC ") == 0)) {
    s.erase(0, 6);
  }
  std::string decoded;
  if (!base64_decode(s, &decoded)) {
    return false;
  }
  return decoded == config_->auth.user + ":" + config_->auth.password;
}

bool ServerSession::basic_allowed() const {
  return !ntlm_offered() || (config_->auth.schemes & auth::kSchemeBasic) != 0;
}

bool ServerSession::ntlm_offered() const {
  return (config_->auth.schemes & auth::kSchemeNtlm) != 0;
}

void ServerSession::challenge(std::uint32_t inc) {
  ++auth_rounds_;
  auth_cookie_ = client_id_ ^ (0x5EC0000u + static_cast<std::uint32_t>(auth_rounds_));
  if (ntlm_offered()) {
    // The initial NTLM challenge (MS-MMSP 2.2.4.14): 00 00, no token yet.
    ntlm_stage_ = NtlmStage::kNegotiate;
    ntlm_.reset();
    ntlm_challenge(inc, ByteView(), false);
    return;
  }
  Message c = make_message(kLinkMacToViewerSecurityChallenge);
  c.security.play_incarnation = inc;
  c.security.cookie = auth_cookie_;
  c.security.p_token = basic_challenge_token(kRealm);
  send(&c);
}

void ServerSession::ntlm_challenge(std::uint32_t inc, ByteView ntlmssp, bool wrapped) {
  Message c = make_message(kLinkMacToViewerSecurityChallenge);
  c.security.play_incarnation = inc;
  c.security.cookie = auth_cookie_;
  c.security.p_token = make_ntlm_token(ntlmssp, wrapped);
  send(&c);
}

auth::ntlm::Nonce8 ServerSession::ntlm_server_challenge() const {
  std::uint8_t material[16];
  store_u32le(material, client_id_);
  store_u64le(material + 4, seed_);
  store_u32le(material + 12, static_cast<std::uint32_t>(auth_rounds_));
  return auth::ntlm::nonce_from(std::string("mms-ntlm-server:") +
                                std::string(ByteView(material, sizeof material).as_string_view()));
}

void ServerSession::on_ntlm_token(std::uint32_t inc, ByteView token) {
  auto parsed = parse_ntlm_token(token);
  if (!parsed.ok()) {
    MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: bad NTLM token (%s): access denied", client_id_,
            parsed.status().what());
    refuse_open(inc, kHrAccessDenied);
    return;
  }
  const ByteView ntlmssp = parsed->ntlmssp;
  const std::uint32_t type = auth::ntlm::message_type(ntlmssp);
  if (type == 1 && ntlm_stage_ == NtlmStage::kNegotiate) {
    ntlm_.emplace(config_->auth.user, config_->auth.password, kNtlmTarget, ntlm_server_challenge(),
                  auth::ntlm::filetime_now());
    auto challenge_message = ntlm_->challenge(ntlmssp);
    if (!challenge_message.ok()) {
      MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: bad NTLM NEGOTIATE (%s): access denied",
              client_id_, challenge_message.status().what());
      ntlm_.reset();
      refuse_open(inc, kHrAccessDenied);
      return;
    }
    // The CHALLENGE goes inside NTLM_AUTH when the NEGOTIATE came in one
    // (MS-MMSP 3.2.5.7).
    ntlm_stage_ = NtlmStage::kAuthenticate;
    ntlm_challenge(inc, ByteView::of(*challenge_message), parsed->wrapped);
    return;
  }
  if (type == 3 && ntlm_stage_ == NtlmStage::kAuthenticate && ntlm_) {
    const Status st = ntlm_->verify(ntlmssp);
    ntlm_.reset();
    ntlm_stage_ = NtlmStage::kNone;
    if (!st.ok()) {
      // Wrong credentials are refused as BASIC ones are.
      MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: NTLM: %s: access denied", client_id_,
              st.what());
      refuse_open(inc, kHrAccessDenied);
      return;
    }
    authorized_ = true;
    open_resolved(inc);
    return;
  }
  MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: unexpected NTLM token (type %u): access denied",
          client_id_, type);
  refuse_open(inc, kHrAccessDenied);
}

void ServerSession::refuse_open(std::uint32_t inc, std::uint32_t hr) {
  served_status_ = hr == kHrAccessDenied      ? 403
                   : hr == kHrFileNotFound    ? 404
                   : hr == kNsEInvalidRequest ? 400
                                              : 500;
  Message r = make_message(kLinkMacToViewerReportOpenFile);
  r.report_open_file.hr = hr;
  r.report_open_file.play_incarnation = inc;
  send(&r);
}

void ServerSession::on_open_file(const Message& m) {
  if (state_ == State::kStreaming) {
    state_ = State::kConnected;  // a new open ends the current play
  }
  const std::uint32_t inc = m.open_file.play_incarnation;
  requested_ = content_name(m.open_file.file_name);
  opened_any_ = true;
  const std::size_t q = m.open_file.file_name.find('?');
  requested_query_ = q == std::string::npos ? std::string() : m.open_file.file_name.substr(q);
  MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: OpenFile '%.200s'", client_id_, requested_.c_str());
  if (!config_->auth.user.empty() && !authorized_) {
    const ByteView token(m.open_file.token_data);
    if (!token.empty() && is_ntlm_token(token)) {
      if (!ntlm_offered()) {
        MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: NTLM credentials refused (BASIC only)",
                client_id_);
        refuse_open(inc, kHrAccessDenied);
        return;
      }
      // A NEGOTIATE in tokenData: the handshake starts without the initial challenge.
      ++auth_rounds_;
      auth_cookie_ = client_id_ ^ (0x5EC0000u + static_cast<std::uint32_t>(auth_rounds_));
      ntlm_stage_ = NtlmStage::kNegotiate;
      on_ntlm_token(inc, token);
      return;
    }
    if (!token.empty() && basic_allowed() && credentials_ok(token)) {
      authorized_ = true;
    } else {
      if (auth_rounds_ >= kMaxAuthRounds) {
        refuse_open(inc, kHrAccessDenied);
        return;
      }
      challenge(inc);
      return;
    }
  }
  open_resolved(inc);
}

void ServerSession::on_security_response(const Message& m) {
  const std::uint32_t inc = m.security.play_incarnation;
  if (config_->auth.user.empty() || authorized_ || auth_rounds_ == 0) {
    MMS_LOG(LogLevel::kWarning, kLog, "client-id=%u: unsolicited SecurityResponse", client_id_);
    refuse_open(inc, kNsEInvalidRequest);
    return;
  }
  const ByteView token(m.security.p_token);
  if (m.security.cookie != auth_cookie_) {
    MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: SecurityResponse for another challenge",
            client_id_);
    refuse_open(inc, kHrAccessDenied);
    return;
  }
  if (is_ntlm_token(token)) {
    if (!ntlm_offered()) {
      MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: NTLM response refused (BASIC only)",
              client_id_);
      refuse_open(inc, kHrAccessDenied);
      return;
    }
    on_ntlm_token(inc, token);
    return;
  }
  if (!basic_allowed() || !credentials_ok(token)) {
    MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: bad credentials: access denied", client_id_);
    refuse_open(inc, kHrAccessDenied);
    return;
  }
  authorized_ = true;
  open_resolved(inc);
}

void ServerSession::open_resolved(std::uint32_t inc) {
  if (config_->authorize && !config_->authorize("/" + requested_ + requested_query_)) {
    MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: '%.200s': access denied (hr 0x%08x)", client_id_,
            requested_.c_str(), kHrAccessDenied);
    refuse_open(inc, kHrAccessDenied);
    state_ = State::kConnected;
    content_.reset();
    entries_.clear();
    return;
  }
  const auto redirect = config_->redirects.find(requested_);
  if (redirect != config_->redirects.end()) {
    MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: redirect '%s' -> %s", client_id_,
            requested_.c_str(), redirect->second.c_str());
    served_status_ = 302;
    Message r = make_message(kLinkMacToViewerReportRedirect);
    r.report_redirect.hr = kHrOk;
    r.report_redirect.redirect_type = kRedirectUrl;
    r.report_redirect.wsz_location = redirect->second;
    send(&r);
    state_ = State::kDone;  // the server closes after a redirect
    return;
  }
  entries_.clear();
  std::vector<std::string> names;
  const auto pl = config_->playlists.find(requested_);
  playlist_ = pl != config_->playlists.end();
  if (playlist_) {
    names = pl->second;
  } else {
    names.push_back(requested_);
  }
  for (const std::string& name : names) {
    auto c =
        name.empty()
            ? Result<std::shared_ptr<const server::Content>>(Status(Code::kNotFound, "empty name"))
            : config_->content->open("/" + name);
    if (!c.ok()) {
      const std::uint32_t hr =
          c.status().code() == Code::kNotFound ? kHrFileNotFound : kNsEFileOpenFailed;
      MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: '%.200s': %s (hr 0x%08x)", client_id_,
              name.c_str(), c.status().what(), hr);
      refuse_open(inc, hr);
      state_ = State::kConnected;
      content_.reset();
      entries_.clear();
      return;
    }
    entries_.push_back(*c);
  }
  if (entries_.empty()) {
    refuse_open(inc, kHrFileNotFound);
    return;
  }
  entry_ = 0;
  content_ = entries_[0];
  keep_.clear();
  forget_history();
  stream_switch_seen_ = false;
  served_status_ = 200;
  Message r = make_message(kLinkMacToViewerReportOpenFile);
  fill_open_file(&r.report_open_file);
  r.report_open_file.play_incarnation = inc;
  send(&r);
  state_ = State::kOpened;
}

void ServerSession::fill_open_file(ReportOpenFile* r) const {
  r->hr = kHrOk;
  r->open_file_id = open_file_id_;
  std::uint32_t attrs = 0;
  if (content_->live()) {
    attrs = kFileAttributeBroadcast;
  } else {
    attrs = kFileAttributeCanSeek;
  }
  if (playlist_) {
    attrs |= kFileAttributePlaylist;
  }
  r->file_attributes = attrs;
  if (!content_->live()) {
    const double seconds =
        static_cast<double>(content_->duration_ms() + content_->info().preroll_ms) / 1000.0;
    r->file_duration = seconds;
    r->file_blocks = static_cast<std::uint32_t>(std::ceil(seconds));
    r->file_packet_count = content_->packet_count();
  }
  r->file_packet_size = content_->packet_size();
  r->file_bit_rate = total_bitrate();
  r->file_header_size = static_cast<std::uint32_t>(content_->header().size());
}

std::uint32_t ServerSession::total_bitrate() const {
  std::uint32_t rate = content_->info().max_bitrate;
  if (rate == 0) {
    for (const asf::StreamInfo& s : content_->info().streams) {
      rate += s.bitrate;
    }
  }
  return rate;
}

void ServerSession::send_header(std::uint8_t inc) {
  const ByteView header = content_->header();
  const std::size_t frag =
      std::max<std::size_t>(1, std::min<std::size_t>(content_->packet_size(), kMaxHeaderFragment));
  std::size_t off = 0;
  std::uint32_t location = 0;
  do {
    const std::size_t n = std::min(frag, header.size() - off);
    const bool last = off + n >= header.size();
    emit_data(location++, inc, last ? kAfHeaderLast : kAfHeaderMore, header.subview(off, n), false);
    off += n;
  } while (off < header.size());
}

void ServerSession::on_read_block(const Message& m) {
  const ReadBlock& rb = m.read_block;
  Message r = make_message(kLinkMacToViewerReportReadBlock);
  r.report_read_block.play_incarnation = rb.play_incarnation;
  if (!content_ || state_ == State::kConnected) {
    r.report_read_block.hr = kNsEInvalidRequest;
    send(&r);
    return;
  }
  if (rb.open_file_id != open_file_id_) {
    MMS_LOG(LogLevel::kDebug, kLog, "client-id=%u: ReadBlock for file id %u (ours %u): served",
            client_id_, rb.open_file_id, open_file_id_);
  }
  header_inc_ = incarnation_byte(rb.play_incarnation);
  if (udp_pair_pending_ && udp_port_ != 0) {
    // UDP packet pair (MS-MMSP 3.2.5.8): two Data packets before the header.
    udp_pair_pending_ = false;
    std::vector<std::uint8_t> noise(kUdpPacketPairPayload);
    for (const std::uint32_t location : {kPacketPairLocationId0, kPacketPairLocationId1}) {
      fill_pair_bytes(&noise);
      emit_data(location, kPacketPairIncarnation, kAfPacketPair, ByteView(noise), false);
    }
  }
  send(&r);  // before the header packets (FFmpeg, libmms)
  send_header(header_inc_);
  if (state_ == State::kOpened) {
    state_ = State::kReady;
  }
}

void ServerSession::on_stream_switch(const Message& m) {
  Message r = make_message(kLinkMacToViewerReportStreamSwitch);
  if (!content_) {
    r.report_stream_switch.hr = kNsEInvalidRequest;
    send(&r);
    return;
  }
  if (keep_.empty()) {
    keep_.assign(kStreamSlots, false);
  }
  for (const StreamSwitchEntry& e : m.stream_switch.a_stream_entries) {
    const std::uint16_t src = e.w_src_stream_number;
    const std::uint16_t dst = e.w_dst_stream_number;
    const bool on = e.w_thinning_level != kThinningNothing;
    if (dst != kStreamNone) {
      if (src != kStreamNone && src < kStreamSlots && src != dst) {
        keep_[src] = false;  // replaced (switched at once, not at B's key frame)
      }
      if (dst < kStreamSlots) {
        keep_[dst] = on;
      }
    } else if (src < kStreamSlots) {
      keep_[src] = false;  // spec "off" form {N, 0xFFFF, x}
    }
  }
  stream_switch_seen_ = true;
  forget_history();  // packets sent before are no longer rebuilt the same way
  std::size_t selected = 0;
  for (const asf::StreamInfo& s : content_->info().streams) {
    selected += (s.number < kStreamSlots && keep_[s.number]) ? std::size_t{1} : std::size_t{0};
  }
  MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: StreamSwitch: %zu of %zu streams selected",
          client_id_, selected, content_->info().streams.size());
  send(&r);
}

bool ServerSession::all_selected() const {
  if (!stream_switch_seen_ || spoon_) {
    return true;  // lenient: a client that never sent StreamSwitch gets everything
  }
  for (const asf::StreamInfo& s : content_->info().streams) {
    if (s.number >= kStreamSlots || !keep_[s.number]) {
      return false;
    }
  }
  return true;
}

}  // namespace mms::mmst
