#include "protocol/rtsp/client_session.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "protocol/asf/guids.h"
#include "protocol/core/limits.h"
#include "protocol/core/log.h"
#include "protocol/core/text.h"
#include "protocol/rtsp/rtcp.h"

namespace mms::rtsp {
namespace {

constexpr const char* kLog = "rtsp-client";
constexpr std::uint16_t kDefaultRtspPort = 554;

std::uint64_t read_le64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) {
    v = (v << 8) | p[i];
  }
  return v;
}

void write_le64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    p[i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
}

std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > UINT64_MAX / a) {
    return UINT64_MAX;
  }
  return a * b;
}

// Multiplies the File Properties "data packets count" and the Data Object
// "total data packets" by `factor` (0 stays 0). `header` parsed already.
void inflate_packet_counts(std::vector<std::uint8_t>* header, const asf::HeaderInfo& info,
                           std::uint64_t factor) {
  constexpr std::size_t kHeaderObjectFixed = 30;
  constexpr std::size_t kFilePropertiesCountOffset = 56;
  constexpr std::size_t kDataObjectCountOffset = 40;
  std::vector<std::uint8_t>& h = *header;
  const std::size_t end = info.header_object_size <= h.size() ? info.header_object_size : 0;
  std::size_t pos = kHeaderObjectFixed;
  while (pos + 24 <= end) {
    const std::uint64_t size = read_le64(&h[pos + 16]);
    if (size < 24 || size > end - pos) {
      break;
    }
    if (asf::guid_equals(&h[pos], asf::kFileProperties) && size >= kFilePropertiesCountOffset + 8) {
      std::uint8_t* p = &h[pos + kFilePropertiesCountOffset];
      write_le64(p, saturating_mul(read_le64(p), factor));
    }
    pos += static_cast<std::size_t>(size);
  }
  if (info.has_data_prefix && end + asf::kDataObjectPrefixSize <= h.size() &&
      asf::guid_equals(&h[end], asf::kDataObject)) {
    std::uint8_t* p = &h[end + kDataObjectCountOffset];
    write_le64(p, saturating_mul(read_le64(p), factor));
  }
}

// Seq a is at or after b (RFC 1982 on 16 bits).
bool seq_at_or_after(std::uint16_t a, std::uint16_t b) {
  return static_cast<std::int16_t>(static_cast<std::uint16_t>(a - b)) >= 0;
}

bool has_line(const std::string& body, std::string_view name) {
  // "Name: true" lines of an x-wms-extension-cmd body, case-insensitive names.
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t eol = body.find('\n', pos);
    std::string_view line(body.data() + pos, (eol == std::string::npos ? body.size() : eol) - pos);
    pos = eol == std::string::npos ? body.size() : eol + 1;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    std::string_view key = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == '\r' || value.back() == ' ')) {
      value.remove_suffix(1);
    }
    if (iequals(key, name) && iequals(value, "true")) {
      return true;
    }
  }
  return false;
}

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

RtspClientSession::RtspClientSession(session::ClientConfig config, bool udp)
    : config_(std::move(config)), udp_(udp), current_url_(config_.url) {}

std::string RtspClientSession::user() const {
  return !config_.user.empty() ? config_.user : current_url_.user;
}

std::string RtspClientSession::password() const {
  return !config_.user.empty() ? config_.password : current_url_.password;
}

// --- commands -----------------------------------------------------------------

void RtspClientSession::play(const session::PlayRequest& req, Instant now) {
  released_.clear();
  if (state_ == State::kFailed) {
    return;
  }
  position_ms_ = req.position_ms;
  if (state_ == State::kIdle) {
    touch(now);
    if (udp_) {
      state_ = State::kBinding;
      rtx_ch_ = next_channel_++;
      session::IoAction a;
      a.kind = session::IoAction::Kind::kBindUdp;
      a.channel = rtx_ch_;
      a.host = current_url_.host;
      actions_.push_back(std::move(a));
      // The configured range is for the port data arrives on; nothing comes to RTX.
      bind_media(config_.udp_port_min, config_.udp_port_max);
    } else {
      connect_tcp(now);
    }
    return;
  }
  if (tcp_ == 0 || session_id_.empty()) {
    return;  // still being set up: the first PLAY uses position_ms_
  }
  if (state_ == State::kPlayWait || state_ == State::kPlaying || state_ == State::kDone) {
    // Seek (or restart after the end): PLAY with the new Range, no PAUSE.
    discont_pending_ = true;
    send_play(true, now);
  }
}

void RtspClientSession::close() {
  released_.clear();
  if (state_ != State::kFailed) {
    send_teardown();
  }
  close_channels();
  if (state_ != State::kFailed) {
    state_ = State::kDone;
  }
}

void RtspClientSession::close_channels() {
  for (session::ChannelId* ch : {&tcp_, &rtx_ch_, &media_ch_, &rtcp_ch_, &old_media_ch_}) {
    if (*ch != 0) {
      session::IoAction a;
      a.kind = session::IoAction::Kind::kClose;
      a.channel = *ch;
      actions_.push_back(std::move(a));
      *ch = 0;
    }
  }
}

void RtspClientSession::bind_media(std::uint16_t port_min, std::uint16_t port_max) {
  media_ch_ = next_channel_++;
  media_bound_ = false;
  session::IoAction a;
  a.kind = session::IoAction::Kind::kBindUdp;
  a.channel = media_ch_;
  a.host = current_url_.host;
  a.port = port_min;
  a.port_max = port_max;
  actions_.push_back(std::move(a));
}

// UDP: connects once RTX, media and (if it could be had) RTCP are bound.
void RtspClientSession::udp_bind_done(Instant now) {
  if (!rtx_bound_ || !media_bound_ || !rtcp_done_ || state_ != State::kBinding) {
    return;
  }
  MMS_LOG(LogLevel::kDebug, kLog, "UDP ports: rtx %u, media %u, rtcp %s", rtx_port_, media_port_,
          rtcp_ch_ != 0 ? "media + 1" : "none");
  connect_tcp(now);
}

void RtspClientSession::connect_tcp(Instant now) {
  tcp_ = next_channel_++;
  state_ = State::kConnecting;
  first_reply_seen_ = false;
  outstanding_.clear();
  Url u = current_url_;
  u.scheme = "rtsp";
  if (u.port == kDefaultRtspPort) {
    u.port = 0;
  }
  request_url_ = u.to_string(false);
  touch(now);
  session::IoAction a;
  a.kind = session::IoAction::Kind::kConnectTcp;
  a.channel = tcp_;
  a.host = current_url_.host;
  a.port = current_url_.port != 0 ? current_url_.port : kDefaultRtspPort;
  MMS_LOG(LogLevel::kInfo, kLog, "%s: connecting to %s:%u (%s)", current_url_.redacted().c_str(),
          a.host.c_str(), a.port, transport_name());
  actions_.push_back(std::move(a));
}

// --- requests ----------------------------------------------------------------

Request RtspClientSession::make_request(const char* method, const std::string& uri) const {
  Request r;
  r.method = method;
  r.uri = uri;
  std::string guid = config_.client_guid;
  if (guid.size() >= 2 && guid.front() == '{' && guid.back() == '}') {
    guid = guid.substr(1, guid.size() - 2);
  }
  std::string ua = config_.user_agent;
  if (ua.empty() || ua.rfind("NSPlayer/", 0) == 0) {
    ua = kWmpUserAgent;
  }
  if (!guid.empty()) {
    ua += " guid/" + guid;
  }
  r.headers.add("User-Agent", ua);
  if (!session_id_.empty()) {
    r.headers.add("Session", session_id_);
  }
  return r;
}

void RtspClientSession::add_auth(Request* req) const {
  if (!challenge_) {
    return;
  }
  if (basic_) {
    req->headers.set("Authorization", basic_authorization(user(), password()));
    return;
  }
  char cnonce[32];
  std::snprintf(cnonce, sizeof cnonce, "%08x%08x", cnonce_counter_,
                static_cast<unsigned>(config_.client_guid.size() * 2654435761u));
  Result<std::string> v =
      digest_authorization(*challenge_, user(), password(), req->method, req->uri, cnonce);
  if (v.ok()) {
    req->headers.set("Authorization", *v);
  }
}

void RtspClientSession::send_request(Request req, Sent what, std::size_t stream, Instant now) {
  if (tcp_ == 0) {
    return;
  }
  req.headers.remove("CSeq");
  req.headers.remove("Authorization");
  const std::uint32_t cseq = ++cseq_;
  req.headers.add("CSeq", std::to_string(cseq));
  ++cnonce_counter_;
  add_auth(&req);
  session::IoAction a;
  a.kind = session::IoAction::Kind::kSend;
  a.channel = tcp_;
  a.bytes = write_request(req);
  actions_.push_back(std::move(a));
  MMS_LOG(LogLevel::kDebug, kLog, "%s -> %s %s (CSeq %u)", transport_name(), req.method.c_str(),
          req.uri.c_str(), cseq);
  if (outstanding_.size() >= kMaxOutstandingRequests) {
    outstanding_.erase(outstanding_.begin());
  }
  Outstanding o;
  o.what = what;
  o.stream = stream;
  o.request = std::move(req);
  outstanding_[cseq] = std::move(o);
  if (what == Sent::kPlay) {
    play_cseq_ = cseq;
  }
  touch(now);
}

void RtspClientSession::send_options(Instant now) {
  state_ = State::kOptions;
  send_request(make_request("OPTIONS", request_url_), Sent::kOptions, 0, now);
}

void RtspClientSession::send_describe(Instant now) {
  state_ = State::kDescribe;
  Request r = make_request("DESCRIBE", request_url_);
  r.headers.add("Accept", "application/sdp");
  r.headers.add("Accept-Charset", "UTF-8, *;q=0.1");
  r.headers.add("X-Accept-Authentication", "Digest, Basic");
  r.headers.add("Supported", kClientSupported);
  send_request(std::move(r), Sent::kDescribe, 0, now);
}

void RtspClientSession::send_next_setup(Instant now) {
  state_ = State::kSetup;
  if (setup_rtx_) {
    setup_rtx_ = false;
    const SdpMedia* rtx = sdp_.rtx();
    Request r = make_request("SETUP", resolve_control(base_url_, sdp_.control, rtx->control));
    Transport t;
    t.lower = "UDP";
    t.client_port = PortPair{rtx_port_, std::nullopt};
    if (rtx_port_ < 65535) {
      t.client_port->second = static_cast<std::uint16_t>(rtx_port_ + 1);
    }
    t.mode = "PLAY";
    r.headers.add("Transport", format_transport(t));
    if (!gen_id_.empty()) {
      r.headers.add("X-Playlist-Gen-Id", gen_id_);
    }
    send_request(std::move(r), Sent::kSetupRtx, 0, now);
    return;
  }
  if (next_setup_ >= streams_.size()) {
    send_play(true, now);
    return;
  }
  const std::size_t k = next_setup_++;
  Stream& s = streams_[k];
  Request r = make_request("SETUP", s.url);
  Transport t;
  if (udp_) {
    t.lower = "UDP";
    t.client_port = PortPair{media_port_, std::nullopt};
    if (media_port_ < 65535) {
      t.client_port->second = static_cast<std::uint16_t>(media_port_ + 1);
    }
  } else {
    t.lower = "TCP";
    s.channel = static_cast<std::uint8_t>(2 * k);
    t.interleaved = PortPair{s.channel, static_cast<std::uint16_t>(s.channel + 1)};
  }
  t.mode = "PLAY";
  r.headers.add("Transport", format_transport(t));
  if (!gen_id_.empty()) {
    r.headers.add("X-Playlist-Gen-Id", gen_id_);
  }
  send_request(std::move(r), Sent::kSetup, k, now);
}

// Where npt 0 of the content lies: WMS counts the preroll in npt
// (docs/protocols/rtsp-wms-reference.md §2.4, §4.1: its a=range starts at the preroll); a
// whole-mux SDP (gst-rtsp-server) gives media time, starting at its a=range start.
std::uint64_t RtspClientSession::npt_origin_ms() const {
  if (whole_mux()) {
    return sdp_.range && sdp_.range->start_ms ? *sdp_.range->start_ms : 0;
  }
  return info_.preroll_ms;
}

void RtspClientSession::send_play(bool with_range, Instant now) {
  Request r = make_request("PLAY", aggregate_);
  if (with_range) {
    NptRange range;
    const std::uint64_t origin = npt_origin_ms();
    range.start_ms = position_ms_ > UINT64_MAX - origin ? UINT64_MAX : position_ms_ + origin;
    r.headers.add("Range", format_range(range));
  }
  if (!gen_id_.empty()) {
    r.headers.add("X-Playlist-Gen-Id", gen_id_);
  }
  r.headers.add("Bandwidth", "2147483647");
  if (config_.fast_start_ms > 0 && (with_range || info_.broadcast())) {
    // Fast Start on a new position (not on a resume: the buffer is full then);
    // on every PLAY of a broadcast (a join: the server starts behind live).
    AccelRequest accel;
    accel.duration_ms = config_.fast_start_ms;
    accel.bandwidth_bps = kFastStartAnyBandwidth;
    r.headers.add("X-Accelerate-Streaming", format_accelerate_streaming(accel));
  }
  state_ = State::kPlayWait;
  paused_server_ = false;
  play_with_range_ = with_range;
  eos_pending_ = false;
  eos_deadline_.reset();
  eos_by_bye_ = false;
  entry_ended_ = false;
  held_.clear();
  send_request(std::move(r), Sent::kPlay, 0, now);
}

void RtspClientSession::send_keepalive(Instant now) {
  ++keepalives_;
  send_request(make_request("GET_PARAMETER", aggregate_), Sent::kKeepalive, 0, now);
}

void RtspClientSession::send_teardown() {
  if (tcp_ == 0 || session_id_.empty()) {
    return;
  }
  Instant keep = last_activity_;
  send_request(make_request("TEARDOWN", aggregate_), Sent::kOther, 0, keep);
}

void RtspClientSession::send_response(int status, const std::string& cseq) {
  if (tcp_ == 0) {
    return;
  }
  Response resp;
  resp.status = status;
  resp.reason = reason_phrase(status);
  resp.headers.add("CSeq", cseq);
  if (!session_id_.empty()) {
    resp.headers.add("Session", session_id_);
  }
  session::IoAction a;
  a.kind = session::IoAction::Kind::kSend;
  a.channel = tcp_;
  a.bytes = write_response(resp);
  actions_.push_back(std::move(a));
}

// --- inputs -----------------------------------------------------------------

void RtspClientSession::on_udp_bound(session::ChannelId ch, std::uint16_t port, Instant now) {
  released_.clear();
  if (state_ != State::kBinding) {
    return;
  }
  if (ch == 0) {
    return;
  }
  if (ch == rtx_ch_) {
    rtx_port_ = port;
    rtx_bound_ = true;
  } else if (ch == media_ch_) {
    media_port_ = port;
    media_bound_ = true;
    if (old_media_ch_ != 0) {
      // A new Q while the previous one is still held: the previous one goes now.
      session::IoAction a;
      a.kind = session::IoAction::Kind::kClose;
      a.channel = old_media_ch_;
      actions_.push_back(std::move(a));
      old_media_ch_ = 0;
    }
    if (port != 0 && port < 65535) {
      // The server sends its RTCP (BYE at the end) to Q+1.
      rtcp_ch_ = next_channel_++;
      session::IoAction a;
      a.kind = session::IoAction::Kind::kBindUdp;
      a.channel = rtcp_ch_;
      a.host = current_url_.host;
      a.port = static_cast<std::uint16_t>(port + 1);
      a.port_max = a.port;
      actions_.push_back(std::move(a));
      return;
    }
    rtcp_done_ = true;
  } else if (ch == rtcp_ch_) {
    rtcp_done_ = true;
  } else {
    return;
  }
  udp_bind_done(now);
}

void RtspClientSession::on_connected(session::ChannelId ch, Instant now) {
  released_.clear();
  if (ch != tcp_ || state_ != State::kConnecting) {
    return;
  }
  touch(now);
  send_options(now);
}

void RtspClientSession::on_connect_failed(session::ChannelId ch, Status why, Instant now) {
  released_.clear();
  if (state_ == State::kFailed || ch == 0) {
    return;
  }
  if (ch == tcp_) {
    tcp_ = 0;
    fail(Status(Code::kRefused, "RTSP connect failed", why.detail()));
  } else if (ch == rtcp_ch_ && state_ == State::kBinding) {
    // Q+1 is taken: another Q (holding this one meanwhile), or no RTCP.
    rtcp_ch_ = 0;
    const bool ranged = config_.udp_port_min != 0;
    const std::uint32_t next_min = std::uint32_t{media_port_} + 2;
    const std::uint32_t max = std::max(config_.udp_port_max, config_.udp_port_min);
    if (++pair_attempts_ < kMaxRtcpPairAttempts && old_media_ch_ == 0 &&
        (!ranged || next_min <= max)) {
      old_media_ch_ = media_ch_;
      old_media_port_ = media_port_;
      bind_media(ranged ? static_cast<std::uint16_t>(next_min) : 0,
                 ranged ? static_cast<std::uint16_t>(max) : 0);
      return;
    }
    MMS_LOG(LogLevel::kInfo, kLog, "UDP port %u is taken: no RTCP from the server",
            media_port_ + 1);
    rtcp_done_ = true;
    udp_bind_done(now);
  } else if (ch == media_ch_ && old_media_ch_ != 0) {
    // No other Q: back to the one held, without RTCP.
    media_ch_ = old_media_ch_;
    media_port_ = old_media_port_;
    old_media_ch_ = 0;
    media_bound_ = true;
    rtcp_done_ = true;
    udp_bind_done(now);
  } else if (ch == rtx_ch_ || ch == media_ch_) {
    (ch == rtx_ch_ ? rtx_ch_ : media_ch_) = 0;
    fail(why.ok() ? Status(Code::kRefused, "could not bind a UDP port") : why);
  }
}

std::size_t RtspClientSession::on_bytes(session::ChannelId ch, ByteView bytes, Instant now) {
  released_.clear();
  if (ch != tcp_ || tcp_ == 0 || state_ == State::kFailed) {
    return bytes.size();  // stale channel: discard
  }
  touch(now);
  if (!first_reply_seen_) {
    // The first answer must be RTSP: anything else is not an RTSP server (say so now).
    static constexpr char kRtsp[] = "RTSP/";
    for (std::size_t i = 0; i < bytes.size() && i < 5; ++i) {
      char c = static_cast<char>(bytes[i]);
      if (c >= 'a' && c <= 'z') {
        c = static_cast<char>(c - 'a' + 'A');
      }
      if (c != kRtsp[i]) {
        fail(Status(Code::kRefused, "server answered with something that is not RTSP"));
        return bytes.size();
      }
    }
  }
  std::size_t consumed = 0;
  while (consumed < bytes.size()) {
    Unit unit;
    Status error;
    Decode d = decode_unit(bytes.subview(consumed), &unit, &error);
    if (d == Decode::kNeedMore) {
      break;
    }
    if (d == Decode::kError) {
      if (!first_reply_seen_ && error.code() != Code::kLimitExceeded) {
        fail(Status(Code::kRefused, "server answered with something that is not RTSP"));
      } else {
        fail(Status(error.code() == Code::kLimitExceeded ? Code::kLimitExceeded : Code::kMalformed,
                    "server sent a malformed RTSP message", error.detail()));
      }
      return bytes.size();
    }
    consumed += unit.wire_size;
    handle_unit(unit, now);
    if (state_ == State::kFailed || ch != tcp_) {
      return bytes.size();
    }
  }
  return consumed;
}

void RtspClientSession::on_datagram(session::ChannelId ch, ByteView datagram, Instant now) {
  released_.clear();
  if (ch == 0 || (ch != media_ch_ && ch != rtcp_ch_) || state_ == State::kFailed ||
      state_ == State::kDone) {
    return;  // RTX port, stale channel: ignored
  }
  if (is_rtcp(datagram)) {
    handle_rtcp(std::nullopt, datagram, now);  // on Q+1, or multiplexed on Q
    return;
  }
  if (ch != media_ch_) {
    return;
  }
  std::optional<std::size_t> k = stream_for_ssrc(datagram);
  if (!k) {
    return;
  }
  count_received(*k, datagram, now);
  handle_rtp(*k, datagram, now);
}

void RtspClientSession::on_eof(session::ChannelId ch, Instant now) {
  released_.clear();
  if (ch != tcp_ || tcp_ == 0 || state_ == State::kFailed) {
    return;
  }
  tcp_ = 0;
  if (state_ == State::kDone) {
    return;  // closed after the end: nothing lost
  }
  if (!first_reply_seen_) {
    fail(Status(Code::kRefused, "server closed the connection before answering"));
  } else if (state_ == State::kPlaying || state_ == State::kWaitEntry ||
             (state_ == State::kPlayWait && announced_)) {
    if (eos_pending_) {
      finish_eos(now);  // the end was announced; UDP stragglers no longer matter
      close_channels();
      return;
    }
    fail(Status(Code::kConnectionLost, "server closed the connection mid-stream"));
  } else {
    fail(Status(Code::kRefused, "server closed the connection during the RTSP setup"));
  }
}

// --- RTSP messages -----------------------------------------------------------

void RtspClientSession::handle_unit(const Unit& unit, Instant now) {
  switch (unit.kind) {
    case UnitKind::kInterleaved: {
      if (udp_) {
        return;  // frames on a UDP session: ignored
      }
      const bool rtcp = (unit.frame.channel & 1u) != 0;
      const std::uint8_t rtp_channel =
          rtcp ? static_cast<std::uint8_t>(unit.frame.channel - 1) : unit.frame.channel;
      for (std::size_t k = 0; k < streams_.size(); ++k) {
        if (streams_[k].channel == rtp_channel) {
          if (rtcp) {
            handle_rtcp(k, unit.frame.payload, now);
          } else {
            handle_rtp(k, unit.frame.payload, now);
          }
          return;
        }
      }
      return;  // unknown channel
    }
    case UnitKind::kResponse:
      first_reply_seen_ = true;
      handle_response(unit.response, now);
      return;
    case UnitKind::kRequest:
      if (!first_reply_seen_) {
        fail(Status(Code::kRefused, "server answered with something that is not RTSP"));
        return;
      }
      handle_server_request(unit.request, now);
      return;
  }
}

void RtspClientSession::handle_response(const Response& resp, Instant now) {
  Result<std::uint32_t> cseq = cseq_of(resp.headers);
  if (!cseq.ok()) {
    if (state_ == State::kOptions || state_ == State::kDescribe || state_ == State::kSetup) {
      fail(Status(Code::kMalformed, "RTSP response without CSeq"));
    }
    return;
  }
  auto it = outstanding_.find(*cseq);
  if (it == outstanding_.end()) {
    MMS_LOG(LogLevel::kDebug, kLog, "ignoring a response to CSeq %u", *cseq);
    return;
  }
  Outstanding o = std::move(it->second);
  outstanding_.erase(it);
  MMS_LOG(LogLevel::kDebug, kLog, "%s <- %d %s (CSeq %u)", transport_name(), resp.status,
          resp.reason.c_str(), *cseq);
  if (o.what == Sent::kKeepalive || o.what == Sent::kOther || o.what == Sent::kPause) {
    // Keepalive, teardown and PAUSE answers carry nothing we need: a server
    // refusing PAUSE keeps sending, which is what it did before.
    return;
  }
  if (o.what == Sent::kPlay && *cseq != play_cseq_) {
    return;  // a superseded PLAY
  }
  if (resp.status == 401 || resp.status == 407) {
    handle_auth(resp, o, now);
    return;
  }
  if (resp.status >= 300 && resp.status < 400 &&
      (o.what == Sent::kOptions || o.what == Sent::kDescribe)) {
    handle_redirect(resp, now);
    return;
  }
  switch (o.what) {
    case Sent::kOptions:
      // Servers differ in what they answer to OPTIONS; the DESCRIBE decides.
      send_describe(now);
      return;
    case Sent::kDescribe:
      if (resp.status != 200) {
        fail_for_status(resp, "DESCRIBE");
        return;
      }
      handle_describe(resp, now);
      return;
    case Sent::kSetupRtx:
    case Sent::kSetup:
      if (resp.status != 200) {
        fail_for_status(resp, "SETUP");
        return;
      }
      handle_setup(resp, o, now);
      return;
    case Sent::kPlay:
      if (resp.status != 200) {
        fail_for_status(resp, "PLAY");
        return;
      }
      handle_play(resp, now);
      return;
    default:
      return;
  }
}

bool RtspClientSession::handle_auth(const Response& resp, const Outstanding& o, Instant now) {
  const std::string detail = std::to_string(resp.status) + " " + resp.reason;
  if (resp.status == 407) {
    fail(Status(Code::kNotAuthorized, "RTSP proxy authentication is not supported", 407), detail);
    return false;
  }
  if (user().empty()) {
    fail(Status(Code::kNotAuthorized, "server requires authentication", 401), detail);
    return false;
  }
  if (auth_rounds_ >= kMaxAuthRounds) {
    fail(Status(Code::kNotAuthorized, "server rejected the credentials", 401), detail);
    return false;
  }
  Result<std::vector<AuthChallenge>> challenges = parse_www_authenticate(resp.headers);
  if (!challenges.ok()) {
    fail(Status(Code::kNotAuthorized, "server sent an unusable authentication challenge", 401),
         detail);
    return false;
  }
  const AuthChallenge* digest = nullptr;
  const AuthChallenge* basic = nullptr;
  for (const AuthChallenge& c : *challenges) {
    if (c.is("Digest") && digest == nullptr) {
      digest = &c;
    } else if (c.is("Basic") && basic == nullptr) {
      basic = &c;
    }
  }
  if (digest != nullptr) {
    Result<std::string> probe =
        digest_authorization(*digest, user(), password(), "DESCRIBE", request_url_, "0");
    if (!probe.ok()) {
      digest = nullptr;  // an algorithm we cannot do: Basic if offered
    }
  }
  if (digest == nullptr && basic == nullptr) {
    fail(Status(Code::kNotAuthorized, "server offers no Digest or Basic authentication", 401),
         detail);
    return false;
  }
  ++auth_rounds_;
  challenge_ = digest != nullptr ? *digest : *basic;
  basic_ = digest == nullptr;
  MMS_LOG(LogLevel::kInfo, kLog, "authenticating with %s", basic_ ? "Basic" : "Digest");
  send_request(o.request, o.what, o.stream, now);
  return true;
}

bool RtspClientSession::handle_redirect(const Response& resp, Instant now) {
  const std::string* location = resp.headers.find("Location");
  const auto status = static_cast<std::uint32_t>(resp.status);
  if (location == nullptr) {
    fail(Status(Code::kRefused, "RTSP redirect without Location", status));
    return false;
  }
  if (++redirects_ > limits::kMaxRedirects) {
    fail(Status(Code::kLimitExceeded, "too many redirects", status));
    return false;
  }
  Result<Url> next = resolve_location(current_url_, *location);
  if (!next.ok()) {
    fail(Status(Code::kMalformed, "server sent a bad redirect URL", status));
    return false;
  }
  if (next->scheme != "rtsp" && next->scheme != "rtspu" && next->scheme != "rtspt" &&
      next->scheme != "mms") {
    // Another transport family (mmsh://, mmst://...): the rollover follows it.
    close_channels();
    state_ = State::kFailed;
    held_.clear();
    events_.push_back(session::redirected_elsewhere(*next, current_url_));
    return false;
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
  if (tcp_ != 0) {
    session::IoAction a;
    a.kind = session::IoAction::Kind::kClose;
    a.channel = tcp_;
    actions_.push_back(std::move(a));
    tcp_ = 0;
  }
  auth_rounds_ = 0;
  challenge_.reset();
  session_id_.clear();
  connect_tcp(now);
  return true;
}

void RtspClientSession::fail_for_status(const Response& resp, const char* during) {
  const auto status = static_cast<std::uint32_t>(resp.status);
  const std::string detail = std::to_string(resp.status) + " " + resp.reason;
  MMS_LOG(LogLevel::kInfo, kLog, "%s answered %d %s", during, resp.status, resp.reason.c_str());
  if (resp.status == 404 || resp.status == 410) {
    fail(Status(Code::kNotFound, "server says the content does not exist", status), detail);
  } else if (resp.status == 403) {
    fail(Status(Code::kNotAuthorized, "server denied access", status), detail);
  } else if (resp.status == 503) {
    fail(Status(Code::kRefused, "server is busy (too many clients)", status), detail);
  } else if (resp.status == 461) {
    fail(Status(Code::kRefused, "server refused the RTP transport", status), detail);
  } else {
    fail(Status(Code::kRefused, "server refused the RTSP request", status), detail);
  }
}

void RtspClientSession::handle_describe(const Response& resp, Instant now) {
  const std::string* base = resp.headers.find("Content-Base");
  if (base == nullptr) {
    base = resp.headers.find("Content-Location");
  }
  base_url_ = base != nullptr && !base->empty() ? *base : request_url_;
  if (const std::string* gen = resp.headers.find("X-Playlist-Gen-Id")) {
    std::uint32_t v = 0;
    if (parse_u32(*gen, &v)) {
      gen_id_ = *gen;
    }
  }
  if (!take_sdp(resp.body, false, now)) {
    return;
  }
  plan_streams();
  if (state_ == State::kFailed) {
    return;
  }
  setup_rtx_ = udp_ && sdp_.rtx() != nullptr;
  next_setup_ = 0;
  send_next_setup(now);
}

// Parses an SDP body (DESCRIBE reply or ANNOUNCE) and takes its header.
bool RtspClientSession::take_sdp(const std::string& body, bool announce, Instant) {
  Result<WmsSdp> sdp = parse_wms_sdp(body);
  if (!sdp.ok()) {
    if (sdp.status().code() == Code::kNotFound) {
      fail(Status(Code::kUnsupported, "the SDP carries no ASF header (not Windows Media)"));
    } else if (sdp.status().code() == Code::kLimitExceeded) {
      fail(sdp.status());
    } else {
      fail(Status(Code::kMalformed, "server sent a malformed SDP", sdp.status().detail()));
    }
    return false;
  }
  WmsSdp previous = std::move(sdp_);
  sdp_ = std::move(*sdp);
  if (announce) {
    // The server keeps the control URLs of the session; keep ours if the new SDP has none.
    if (sdp_.control.empty()) {
      sdp_.control = previous.control;
    }
  } else {
    aggregate_ = aggregate_url(base_url_, sdp_.control);
  }
  return take_header(sdp_.asf_header, announce);
}

bool RtspClientSession::take_header(const std::vector<std::uint8_t>& raw, bool changed) {
  std::vector<std::uint8_t> repaired = raw;
  Result<unsigned> rep = asf::repair_header(&repaired);
  if (!rep.ok()) {
    fail(rep.status());
    return false;
  }
  if (*rep != 0) {
    MMS_LOG(LogLevel::kWarning, kLog, "repaired the server's ASF header (fixes 0x%x)", *rep);
  }
  Result<asf::HeaderInfo> info = asf::parse_header(repaired);
  if (!info.ok()) {
    fail(info.status());
    return false;
  }
  if (info->packet_size == 0 || info->packet_size > limits::kMaxAsfPacketSize) {
    fail(Status(Code::kMalformed, "ASF header has an unusable packet size", info->packet_size));
    return false;
  }
  if (info->streams.empty()) {
    fail(Status(Code::kMalformed, "ASF header declares no stream"));
    return false;
  }
  raw_header_ = raw;
  info_ = std::move(*info);
  header_known_ = true;
  if (changed) {
    // A new playlist entry on the streams already set up.
    std::uint32_t maxps = sdp_.max_packet_size;
    if (maxps == 0 || maxps > info_.packet_size) {
      maxps = info_.packet_size;
    }
    for (Stream& s : streams_) {
      s.depay.set_max_packet_size(maxps);
    }
  }
  // The element sees one ASF packet per RTP stream packet: inflate the counts.
  const std::uint64_t factor = changed ? streams_.size() : 0;  // set by plan_streams otherwise
  if (changed) {
    std::vector<std::uint8_t> inflated = repaired;
    if (!info_.broadcast() && factor > 1) {
      inflate_packet_counts(&inflated, info_, factor);
    }
    inflated_count_ = info_.broadcast() ? 0 : saturating_mul(info_.data_packets_count, factor);
    Result<asf::HeaderInfo> shown = asf::parse_header(inflated);
    header_ = std::make_shared<const std::vector<std::uint8_t>>(std::move(inflated));
    session::Event e;
    e.kind = session::Event::Kind::kHeader;
    e.header = header_;
    e.info = std::make_shared<const asf::HeaderInfo>(shown.ok() ? *shown : info_);
    e.changed = true;
    events_.push_back(std::move(e));
  } else {
    header_ = std::make_shared<const std::vector<std::uint8_t>>(std::move(repaired));
  }
  return true;
}

// Chooses the m= lines to SETUP, then gives the caller the (inflated) header.
void RtspClientSession::plan_streams() {
  streams_.clear();
  std::uint32_t maxps = sdp_.max_packet_size;
  if (maxps == 0 || maxps > info_.packet_size) {
    maxps = info_.packet_size;
  }
  const SdpMedia* whole = nullptr;
  for (const SdpMedia& m : sdp_.media) {
    if (m.asf_pf() && m.whole_mux) {
      whole = &m;
      break;
    }
  }
  if (whole != nullptr) {
    // gst-rtsp-server: one media carries every stream of the mux.
    Stream s;
    s.url = resolve_control(base_url_, sdp_.control, whole->control);
    s.depay.set_max_packet_size(maxps);
    streams_.push_back(std::move(s));
  } else {
    std::vector<asf::StreamChoice> choice =
        asf::select_streams(info_, config_.connection_speed_kbps);
    for (const asf::StreamChoice& c : choice) {
      if (!c.selected) {
        continue;
      }
      const SdpMedia* m = sdp_.find_stream(c.number);
      if (m == nullptr) {
        MMS_LOG(LogLevel::kInfo, kLog, "stream %u has no m= line", c.number);
        continue;
      }
      Stream s;
      s.number = c.number;
      s.url = resolve_control(base_url_, sdp_.control, m->control);
      s.depay.set_max_packet_size(maxps);
      streams_.push_back(std::move(s));
    }
  }
  if (streams_.empty()) {
    fail(Status(Code::kUnsupported, "the SDP offers none of the ASF streams"));
    return;
  }
  std::vector<std::uint8_t> inflated = *header_;
  const std::uint64_t factor = streams_.size();
  if (!info_.broadcast() && factor > 1) {
    inflate_packet_counts(&inflated, info_, factor);
  }
  inflated_count_ = info_.broadcast() ? 0 : saturating_mul(info_.data_packets_count, factor);
  Result<asf::HeaderInfo> shown = asf::parse_header(inflated);
  header_ = std::make_shared<const std::vector<std::uint8_t>>(std::move(inflated));
  session::Event e;
  e.kind = session::Event::Kind::kHeader;
  e.header = header_;
  e.info = std::make_shared<const asf::HeaderInfo>(shown.ok() ? *shown : info_);
  e.changed = false;
  events_.push_back(std::move(e));
}

void RtspClientSession::handle_setup(const Response& resp, const Outstanding& o, Instant now) {
  if (const std::string* sess = resp.headers.find("Session")) {
    Result<SessionHeader> sh = parse_session(*sess);
    if (!sh.ok() || sh->id.empty()) {
      fail(Status(Code::kMalformed, "server sent a bad Session header"));
      return;
    }
    if (session_id_.empty()) {
      session_id_ = sh->id;
      if (sh->timeout_s && *sh->timeout_s > 0) {
        session_timeout_s_ = *sh->timeout_s;
      }
    }
  } else if (session_id_.empty()) {
    fail(Status(Code::kMalformed, "SETUP reply without Session"));
    return;
  }
  if (o.what == Sent::kSetup && o.stream < streams_.size()) {
    Stream& s = streams_[o.stream];
    if (const std::string* tv = resp.headers.find("Transport")) {
      Result<std::vector<Transport>> ts = parse_transports(*tv);
      if (ts.ok() && !ts->empty()) {
        const Transport& t = ts->front();
        if (udp_ && t.tcp()) {
          fail(Status(Code::kRefused, "server answered a UDP SETUP with TCP transport"));
          return;
        }
        if (udp_) {
          s.ssrc = t.ssrc;
          if (t.server_port && server_rtcp_port_ == 0) {
            // RTCP goes to the second port, else to the one above (RFC 2326 12.39).
            const std::uint32_t rtcp =
                t.server_port->second ? *t.server_port->second : t.server_port->first + 1u;
            server_rtcp_port_ = rtcp <= 65535 ? static_cast<std::uint16_t>(rtcp) : 0;
          }
        } else if (t.interleaved && t.interleaved->first <= 255) {
          s.channel = static_cast<std::uint8_t>(t.interleaved->first);
        }
      }
    }
  }
  send_next_setup(now);
}

void RtspClientSession::handle_play(const Response& resp, Instant now) {
  for (Stream& s : streams_) {
    s.play_seq.reset();
    s.last_seq.reset();
    s.eos_seq.reset();
    s.bye = false;
    s.next_rtp.reset();
    s.early.clear();  // the flow this PLAY replaces
  }
  if (const std::string* info = resp.headers.find("RTP-Info")) {
    Result<std::vector<RtpInfo>> entries = parse_rtp_info(*info);
    if (entries.ok()) {
      for (std::size_t i = 0; i < entries->size(); ++i) {
        const RtpInfo& e = (*entries)[i];
        if (!e.seq) {
          continue;
        }
        Stream* match = nullptr;
        for (Stream& s : streams_) {
          if (s.url == e.url) {
            match = &s;
            break;
          }
        }
        if (match == nullptr && entries->size() == streams_.size()) {
          match = &streams_[i];  // URLs written differently: same order as the SETUPs
        }
        if (match != nullptr) {
          match->play_seq = e.seq;
          match->depay.expect_seq(*e.seq);
        }
      }
    }
  }
  // A PLAY with a Range restarts the packet numbers where the position is.
  if (play_with_range_) {
    const std::uint64_t duration_ms = info_.duration_ns() / 1000000;
    std::uint64_t n = 0;
    if (duration_ms > 0 && inflated_count_ > 0) {
      const double v = static_cast<double>(position_ms_) / static_cast<double>(duration_ms) *
                       static_cast<double>(inflated_count_);
      // Past the end (or beyond what a u64 holds): the last packet number.
      n = v >= 0.0 && v < 1.8e19 ? static_cast<std::uint64_t>(v) : inflated_count_ - 1;
    }
    if (inflated_count_ > 0 && n >= inflated_count_) {
      n = inflated_count_ - 1;
    }
    packet_number_ = static_cast<std::uint32_t>(n > UINT32_MAX ? UINT32_MAX : n);
  }
  state_ = State::kPlaying;
  if (!announced_) {
    announced_ = true;
    session::Event c;
    c.kind = session::Event::Kind::kConnected;
    c.detail = transport_name();
    events_.push_back(std::move(c));
  }
  rtp_seen_ = false;
  if (udp_) {
    udp_wait_since_ = now;
    report_at_ = now + kReceiverReportInterval;
    rr_last_at_ = now;
  }
  // Both transports: a paused player over TCP reads nothing, and only these
  // requests tell the server it is still there.
  keepalive_at_ = now + keepalive_interval();
  touch(now);
  release_held(now);
}

void RtspClientSession::handle_server_request(const Request& req, Instant now) {
  const std::string* cseq = req.headers.find("CSeq");
  const std::string cs = cseq != nullptr ? *cseq : std::string("0");
  MMS_LOG(LogLevel::kDebug, kLog, "%s <- %s", transport_name(), req.method.c_str());
  if (req.method == "SET_PARAMETER") {
    send_response(200, cs);
    if (has_line(req.body, "EOF")) {
      handle_end_of_stream(req, now);
    }
    return;
  }
  if (req.method == "ANNOUNCE") {
    send_response(200, cs);
    handle_announce(req, now);
    return;
  }
  if (req.method == "OPTIONS" || req.method == "GET_PARAMETER") {
    send_response(200, cs);
    return;
  }
  send_response(501, cs);
}

void RtspClientSession::handle_end_of_stream(const Request& req, Instant now) {
  if (state_ != State::kPlaying) {
    return;  // an end crossed by a newer PLAY
  }
  if (const std::string* info = req.headers.find("RTP-Info")) {
    Result<std::vector<RtpInfo>> entries = parse_rtp_info(*info);
    if (entries.ok()) {
      for (std::size_t i = 0; i < entries->size(); ++i) {
        const RtpInfo& e = (*entries)[i];
        if (!e.seq) {
          continue;
        }
        for (std::size_t k = 0; k < streams_.size(); ++k) {
          if (streams_[k].url == e.url ||
              (entries->size() == streams_.size() && k == i && !streams_[k].eos_seq)) {
            streams_[k].eos_seq = e.seq;
            break;
          }
        }
      }
    }
  }
  if (has_line(req.body, "End-Of-Playlist-Entry")) {
    flush_early(now);  // the entry's last packets
    entry_ended_ = true;
    state_ = State::kWaitEntry;
    keepalive_at_.reset();
    udp_wait_since_.reset();
    touch(now);
    return;
  }
  eos_pending_ = true;
  eos_by_bye_ = false;  // the RTP-Info seqs say more than a BYE did
  eos_deadline_ = now + kEosDrainWait;
  maybe_finish_eos(now, !udp_);
}

void RtspClientSession::handle_announce(const Request& req, Instant now) {
  if (state_ != State::kWaitEntry && state_ != State::kPlaying) {
    return;
  }
  if (const std::string* gen = req.headers.find("X-Playlist-Gen-Id")) {
    std::uint32_t v = 0;
    if (parse_u32(*gen, &v)) {
      gen_id_ = *gen;
    }
  }
  if (!take_sdp(req.body, true, now)) {
    return;
  }
  packet_number_ = 0;
  discont_pending_ = false;
  position_ms_ = 0;
  send_play(false, now);
}

// --- RTP ------------------------------------------------------------------------

// RTCP from the server: only BYE matters. `stream`: the stream whose
// interleaved RTCP channel carried it (TCP); over UDP the BYE's SSRCs say.
void RtspClientSession::handle_rtcp(std::optional<std::size_t> stream, ByteView packet,
                                    Instant now) {
  for_each_sender_report(packet, [&](std::uint32_t ssrc, std::uint32_t lsr) {
    for (Stream& st : streams_) {
      if (st.ssrc && *st.ssrc == ssrc) {
        st.rx.lsr = lsr;  // echoed in our next receiver report (round-trip time)
        st.rx.sr_at = now;
      }
    }
  });
  if (state_ != State::kPlaying) {
    return;  // a BYE before a PLAY's reply belongs to the flow that PLAY replaces
  }
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
  for (std::size_t k : ended) {
    MMS_LOG(LogLevel::kDebug, kLog, "%s <- RTCP BYE for stream %zu", transport_name(), k);
    stream_bye(k, now);
    if (state_ != State::kPlaying) {
      return;
    }
  }
}

// The server ended stream `stream` (RTCP BYE); the play ends with the last one.
void RtspClientSession::stream_bye(std::size_t stream, Instant now) {
  streams_[stream].bye = true;
  for (const Stream& s : streams_) {
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

std::optional<std::size_t> RtspClientSession::stream_for_ssrc(ByteView datagram) {
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

void RtspClientSession::handle_rtp(std::size_t stream, ByteView packet, Instant now) {
  if (state_ == State::kPlayWait) {
    // Not answered yet: hold (a seek's old flow is filtered by RTP-Info later).
    if (held_.size() >= kMaxHeldRtpPackets) {
      held_.pop_front();
    }
    HeldRtp h;
    h.stream = stream;
    h.bytes = packet.to_vector();
    held_.push_back(std::move(h));
    return;
  }
  if (state_ != State::kPlaying) {
    return;
  }
  reorder(stream, packet, now);
}

void RtspClientSession::release_held(Instant now) {
  std::deque<HeldRtp> held;
  held.swap(held_);
  for (const HeldRtp& h : held) {
    if (state_ != State::kPlaying) {
      break;
    }
    reorder(h.stream, ByteView(h.bytes.data(), h.bytes.size()), now);
  }
}

// UDP: RTP goes to the depayloader in sequence order. A packet ahead of the
// next expected one waits (kRtpReorderWait, kMaxRtpReorderPackets) for the
// missing ones; older ones (late, duplicates, a replaced flow) go straight on
// and the depayloader drops them.
void RtspClientSession::reorder(std::size_t stream, ByteView packet, Instant now) {
  if (!udp_ || stream >= streams_.size()) {
    depayload(stream, packet, now);
    return;
  }
  Result<RtpHeader> h = parse_rtp(packet);
  if (!h.ok()) {
    return;
  }
  Stream& s = streams_[stream];
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
  for (const Stream::Early& e : s.early) {
    if (e.seq == h->seq) {
      return;  // a duplicate of one already waiting
    }
  }
  Stream::Early e;
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
void RtspClientSession::release_early(std::size_t stream, Instant now) {
  for (;;) {
    Stream& s = streams_[stream];
    if (!s.next_rtp) {
      return;
    }
    auto it = std::find_if(s.early.begin(), s.early.end(),
                           [&s](const Stream::Early& e) { return e.seq == *s.next_rtp; });
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
void RtspClientSession::give_up_gap(std::size_t stream, Instant now) {
  Stream& s = streams_[stream];
  if (s.early.empty() || !s.next_rtp) {
    return;
  }
  const std::uint16_t from = *s.next_rtp;
  auto first = std::min_element(
      s.early.begin(), s.early.end(), [from](const Stream::Early& a, const Stream::Early& b) {
        return static_cast<std::uint16_t>(a.seq - from) < static_cast<std::uint16_t>(b.seq - from);
      });
  MMS_LOG(LogLevel::kDebug, kLog, "stream %zu: RTP %u-%u missing, given up", stream, from,
          static_cast<unsigned>(static_cast<std::uint16_t>(first->seq - 1)));
  s.next_rtp = first->seq;
  release_early(stream, now);
}

void RtspClientSession::flush_early(Instant now) {
  for (std::size_t k = 0; k < streams_.size(); ++k) {
    while (!streams_[k].early.empty()) {
      give_up_gap(k, now);
    }
  }
}

// Gaps that waited kRtpReorderWait are loss (not while throttled: the missing
// packet may be unread in the socket buffer).
void RtspClientSession::expire_early(Instant now) {
  if (throttled_) {
    return;
  }
  for (std::size_t k = 0; k < streams_.size(); ++k) {
    for (;;) {
      const std::vector<Stream::Early>& early = streams_[k].early;
      auto oldest = std::min_element(
          early.begin(), early.end(),
          [](const Stream::Early& a, const Stream::Early& b) { return a.at < b.at; });
      if (oldest == early.end() || now < oldest->at + kRtpReorderWait) {
        break;
      }
      give_up_gap(k, now);
    }
  }
}

std::optional<Instant> RtspClientSession::reorder_deadline() const {
  std::optional<Instant> d;
  if (throttled_) {
    return d;
  }
  for (const Stream& s : streams_) {
    for (const Stream::Early& e : s.early) {
      if (!d || e.at + kRtpReorderWait < *d) {
        d = e.at + kRtpReorderWait;
      }
    }
  }
  return d;
}

void RtspClientSession::depayload(std::size_t stream, ByteView packet, Instant now) {
  if (stream >= streams_.size()) {
    return;
  }
  Stream& s = streams_[stream];
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
  if (!rtp_seen_) {
    rtp_seen_ = true;
    udp_wait_since_.reset();
  }
  touch(now);
  for (DepayPacket& p : out) {
    if (p.data.empty() || p.data.size() > info_.packet_size) {
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
  for (const Stream& s : streams_) {
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
  flush_early(now);  // what still waits for a missing packet goes out first
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
  if (!header_known_ || live()) {
    return false;
  }
  if (sdp_.range && sdp_.range->end_ms) {
    return true;
  }
  return info_.duration_ns() > 0;
}

// Counts an RTP datagram on arrival for the receiver reports (RFC 3550 A.1:
// extended highest sequence number, packets received). A report goes out
// kRtcpReportEvery datagrams after the last one, or kRtcpReportDelay after the
// first unreported one, besides the periodic one.
void RtspClientSession::count_received(std::size_t stream, ByteView packet, Instant now) {
  if (packet.size() < kRtpHeaderSize) {
    return;
  }
  const auto seq = static_cast<std::uint16_t>(packet[2] << 8 | packet[3]);
  Stream::Reception& rx = streams_[stream].rx;
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
  const session::ChannelId ch = rtcp_ch_ != 0 ? rtcp_ch_ : media_ch_;
  if (!udp_ || server_rtcp_port_ == 0 || ch == 0) {
    return;
  }
  std::uint32_t own_ssrc = 2166136261u;  // FNV-1a of the client GUID: stable per session
  for (char c : config_.client_guid) {
    own_ssrc = (own_ssrc ^ static_cast<std::uint8_t>(c)) * 16777619u;
  }
  std::vector<ReportBlock> blocks;
  for (Stream& st : streams_) {
    Stream::Reception& rx = st.rx;
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
    for (Stream& s : streams_) {
      for (Stream::Early& e : s.early) {
        e.at = now;  // the missing packets may be queued unread: a full wait again
      }
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
  expire_early(now);
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
  if (std::optional<Instant> r = reorder_deadline()) {
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

// --- failure and drains -------------------------------------------------------

void RtspClientSession::fail(Status status, std::string detail) {
  if (state_ == State::kFailed) {
    return;
  }
  MMS_LOG(LogLevel::kInfo, kLog, "%s failed: %s (%s, detail %u)", transport_name(), status.what(),
          to_string(status.code()), status.detail());
  close_channels();
  state_ = State::kFailed;
  held_.clear();
  events_.push_back(session::failed_event(status, std::move(detail)));
}

bool RtspClientSession::next_io_action(session::IoAction* out) {
  return session::pop_front(&actions_, out);
}

bool RtspClientSession::next_event(session::Event* out) {
  return session::pop_front(&events_, out);
}

}  // namespace mms::rtsp
