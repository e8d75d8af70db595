// MMS server session. See server_session.h for the contract and
// docs/protocols/mmsp-reference.md (§4.3 server duties, §4.4 seeking, §4.6 live, §4.8
// playlists, §4.10 timers, §5 UDP, §6 auth, §8 client quirks).
#include "protocol/mmst/server_session.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "protocol/asf/packet.h"
#include "protocol/core/log.h"
#include "protocol/core/text.h"

namespace mms::mmst {
namespace {

constexpr const char* kLog = "mmst-server";
// ServerVersionInfo: clients gate features on major >= 9.
constexpr const char* kServerVersion = "9.01.01.3841";
constexpr const char* kAuthPackage = "BASIC";
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

ServerSession::ServerSession(const ServerConfig* config, std::uint32_t client_id, Instant now)
    : config_(config),
      client_id_(client_id),
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
  r.report_connected_ex.play_incarnation = kMmsDisablePacketPair;  // no packet-pair
  r.report_connected_ex.server_version_info = kServerVersion;
  if (!config_->auth_user.empty()) {
    r.report_connected_ex.authen_package = kAuthPackage;
  }
  send(&r);
  state_ = State::kConnected;
}

void ServerSession::on_funnel_info(const Message& /*m*/) {
  Message r = make_message(kLinkMacToViewerReportFunnelInfo);
  r.report_funnel_info.hr = kHrOk;
  r.report_funnel_info.play_incarnation = kMmsDisablePacketPair;
  r.report_funnel_info.n_cubs = client_id_;
  send(&r);
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
  return decoded == config_->auth_user + ":" + config_->auth_password;
}

void ServerSession::challenge(std::uint32_t inc) {
  ++auth_rounds_;
  auth_cookie_ = client_id_ ^ (0x5EC0000u + static_cast<std::uint32_t>(auth_rounds_));
  Message c = make_message(kLinkMacToViewerSecurityChallenge);
  c.security.play_incarnation = inc;
  c.security.cookie = auth_cookie_;
  c.security.p_token = basic_challenge_token(kRealm);
  send(&c);
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
  if (!config_->auth_user.empty() && !authorized_) {
    const ByteView token(m.open_file.token_data);
    if (!token.empty() && is_ntlm_token(token)) {
      MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: NTLM credentials refused (BASIC only)",
              client_id_);
      refuse_open(inc, kHrAccessDenied);
      return;
    }
    if (!token.empty() && credentials_ok(token)) {
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
  if (config_->auth_user.empty() || authorized_ || auth_rounds_ == 0) {
    MMS_LOG(LogLevel::kWarning, kLog, "client-id=%u: unsolicited SecurityResponse", client_id_);
    refuse_open(inc, kNsEInvalidRequest);
    return;
  }
  const ByteView token(m.security.p_token);
  if (is_ntlm_token(token)) {
    MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: NTLM response refused (BASIC only)", client_id_);
    refuse_open(inc, kHrAccessDenied);
    return;
  }
  if (m.security.cookie != auth_cookie_ || !credentials_ok(token)) {
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
