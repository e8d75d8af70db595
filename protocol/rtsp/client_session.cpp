// RtspClientSession, the RTSP dialogue (client_session.h): commands, the
// connection and its inputs, requests and their responses (OPTIONS, DESCRIBE,
// SETUP, PLAY, authentication, redirects) and the server's requests (end of
// stream, ANNOUNCE of the next playlist entry). The play phase (RTP, RTCP,
// end of stream, timers) is in client_play.cpp.
#include "protocol/rtsp/client_session.h"

#include <utility>

#include "protocol/core/limits.h"
#include "protocol/core/log.h"
#include "protocol/core/text.h"
#include "protocol/rtsp/rtcp.h"

namespace mms::rtsp {
namespace {

constexpr const char* kLog = "rtsp-client";
constexpr std::uint16_t kDefaultRtspPort = 554;

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

}  // namespace

RtspClientSession::RtspClientSession(session::ClientConfig config, bool udp)
    : config_(std::move(config)),
      udp_(udp),
      current_url_(config_.url),
      requests_(config_.client_guid),
      receiver_(udp, this) {
  asf::HeaderGateOptions o;
  o.log_component = kLog;
  o.dedupe = false;  // every SDP's header is taken (an ANNOUNCE is a new entry)
  gate_ = asf::HeaderGate(o);
}

Credentials RtspClientSession::credentials() const {
  if (!config_.user.empty()) {
    return Credentials{config_.user, config_.password};
  }
  return Credentials{current_url_.user, current_url_.password};
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
      ports_.start(current_url_.host, config_.udp_port_min, config_.udp_port_max);
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
  if (tcp_ != 0) {
    session::IoAction a;
    a.kind = session::IoAction::Kind::kClose;
    a.channel = tcp_;
    actions_.push_back(std::move(a));
    tcp_ = 0;
  }
  ports_.close_all();
}

// UDP: connects once RTX, media and (if it could be had) RTCP are bound.
void RtspClientSession::udp_bind_done(Instant now) {
  if (!ports_.ready() || state_ != State::kBinding) {
    return;
  }
  MMS_LOG(LogLevel::kDebug, kLog, "UDP ports: rtx %u, media %u, rtcp %s", ports_.rtx_port(),
          ports_.media_port(), ports_.rtcp_channel() != 0 ? "media + 1" : "none");
  connect_tcp(now);
}

void RtspClientSession::connect_tcp(Instant now) {
  tcp_ = next_channel_++;
  state_ = State::kConnecting;
  first_reply_seen_ = false;
  requests_.forget_outstanding();
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

void RtspClientSession::send_request(Request req, Sent what, std::size_t stream, Instant now) {
  if (tcp_ == 0) {
    return;
  }
  const std::string method = req.method;
  const std::string uri = req.uri;
  RequestTracker::Stamped sent = requests_.send(std::move(req), what, stream, credentials());
  session::IoAction a;
  a.kind = session::IoAction::Kind::kSend;
  a.channel = tcp_;
  a.bytes = std::move(sent.wire);
  actions_.push_back(std::move(a));
  MMS_LOG(LogLevel::kDebug, kLog, "%s -> %s %s (CSeq %u)", transport_name(), method.c_str(),
          uri.c_str(), sent.cseq);
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
    r.headers.add("Transport", format_transport(rtx_setup_transport(ports_.rtx_port())));
    if (!gen_id_.empty()) {
      r.headers.add("X-Playlist-Gen-Id", gen_id_);
    }
    send_request(std::move(r), Sent::kSetupRtx, 0, now);
    return;
  }
  if (next_setup_ >= plan_.streams.size()) {
    send_play(true, now);
    return;
  }
  const std::size_t k = next_setup_++;
  Request r = make_request("SETUP", plan_.streams[k].url);
  const Transport t = stream_setup_transport(udp_, ports_.media_port(), k);
  if (t.interleaved) {
    receiver_.streams()[k].channel = static_cast<std::uint8_t>(t.interleaved->first);
  }
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
  return rtsp::npt_origin_ms(sdp_, plan_.whole_mux(), gate_.info().preroll_ms);
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
  if (config_.fast_start_ms > 0 && (with_range || gate_.info().broadcast())) {
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
  receiver_.clear_held();
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
  if (ports_.on_bound(ch, port)) {
    udp_bind_done(now);
  }
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
    return;
  }
  switch (ports_.on_bind_failed(ch, state_ == State::kBinding)) {
    case UdpPorts::Failure::kIgnored:
    case UdpPorts::Failure::kRetrying:
      return;
    case UdpPorts::Failure::kCheckReady:
      udp_bind_done(now);
      return;
    case UdpPorts::Failure::kFatal:
      fail(why.ok() ? Status(Code::kRefused, "could not bind a UDP port") : why);
      return;
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
  const session::ChannelId media = ports_.media_channel();
  if (ch == 0 || (ch != media && ch != ports_.rtcp_channel()) || state_ == State::kFailed ||
      state_ == State::kDone) {
    return;  // RTX port, stale channel: ignored
  }
  if (is_rtcp(datagram)) {
    handle_rtcp(std::nullopt, datagram, now);  // on Q+1, or multiplexed on Q
    return;
  }
  if (ch != media) {
    return;
  }
  std::optional<std::size_t> k = receiver_.stream_for_ssrc(datagram);
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
      const std::optional<std::size_t> k = receiver_.stream_for_channel(rtp_channel);
      if (!k) {
        return;  // unknown channel
      }
      if (rtcp) {
        handle_rtcp(*k, unit.frame.payload, now);
      } else {
        handle_rtp(*k, unit.frame.payload, now);
      }
      return;
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
  std::optional<Outstanding> taken = requests_.take(*cseq);
  if (!taken) {
    MMS_LOG(LogLevel::kDebug, kLog, "ignoring a response to CSeq %u", *cseq);
    return;
  }
  const Outstanding o = std::move(*taken);
  MMS_LOG(LogLevel::kDebug, kLog, "%s <- %d %s (CSeq %u)", transport_name(), resp.status,
          resp.reason.c_str(), *cseq);
  if (o.what == Sent::kKeepalive || o.what == Sent::kOther || o.what == Sent::kPause) {
    // Keepalive, teardown and PAUSE answers carry nothing we need: a server
    // refusing PAUSE keeps sending, which is what it did before.
    return;
  }
  if (o.what == Sent::kPlay && !requests_.is_current_play(*cseq)) {
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
  Status taken = requests_.auth().on_challenge(resp, credentials());
  if (!taken.ok()) {
    fail(taken, detail);
    return false;
  }
  MMS_LOG(LogLevel::kInfo, kLog, "authenticating with %s",
          requests_.auth().ntlm()    ? "NTLM"
          : requests_.auth().basic() ? "Basic"
                                     : "Digest");
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
    receiver_.clear_held();
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
  requests_.auth().reset();
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
  if (!take_plan()) {
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
  Result<asf::HeaderGate::Verdict> v = gate_.offer(ByteView(raw), changed);
  if (!v.ok()) {
    fail(v.status());
    return false;
  }
  if (changed) {
    // A new playlist entry on the streams already set up.
    receiver_.set_max_packet_size(rtp_max_packet_size(sdp_, gate_.info()));
    emit_header(true);
  }
  // DESCRIBE: the header is given to the caller once the streams are planned.
  return true;
}

// The element sees one ASF packet per RTP stream packet: the header it gets
// has the packet counts of the streams set up (stream_plan.h).
void RtspClientSession::emit_header(bool changed) {
  CallerHeader shown = caller_header(*gate_.header(), gate_.info(), plan_.streams.size());
  inflated_count_ = shown.packet_count;
  session::Event e;
  e.kind = session::Event::Kind::kHeader;
  e.header = std::move(shown.bytes);
  e.info = std::move(shown.info);
  e.changed = changed;
  e.metadata = sdp_metadata();
  // Windows Media Services names the entry's file in a playlist's description.
  e.playlist = e.metadata && e.metadata->find(session::kCdlPlaylistEntryUrl) != nullptr;
  events_.push_back(std::move(e));
}

// The SDP's content description, as the entry's metadata (MS-RTSP has no
// playlist-gen-id or broadcast-id there: both 0; features "broadcast" or
// "seekable" from the header, plus "playlist" when the list names the entry's
// file, as Windows Media Services does in a playlist). A bad list is logged
// and dropped.
std::shared_ptr<const session::EntryMetadata> RtspClientSession::sdp_metadata() const {
  if (sdp_.content_description.empty()) {
    return nullptr;
  }
  Result<std::vector<session::ContentDescription>> cdl =
      session::parse_sdp_cdl(sdp_.content_description);
  if (!cdl.ok()) {
    MMS_LOG(LogLevel::kWarning, kLog, "dropping the SDP's content description: %s",
            cdl.status().what());
    return nullptr;
  }
  auto m = std::make_shared<session::EntryMetadata>();
  m->descriptions = std::move(*cdl);
  m->features = gate_.info().broadcast()                            ? "broadcast"
                : m->find(session::kCdlPlaylistEntryUrl) != nullptr ? "seekable,playlist"
                                                                    : "seekable";
  return m;
}

// Chooses the m= lines to SETUP, then gives the caller the (inflated) header.
bool RtspClientSession::take_plan() {
  Result<StreamPlan> plan = plan_streams(sdp_, gate_.info(), base_url_,
                                         config_.connection_speed_kbps, config_.audio_only);
  if (!plan.ok()) {
    plan_.streams.clear();
    receiver_.set_streams(0, 0);
    fail(plan.status());
    return false;
  }
  plan_ = std::move(*plan);
  receiver_.set_streams(plan_.streams.size(), plan_.max_packet_size);
  emit_header(false);
  return true;
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
  if (o.what == Sent::kSetup && o.stream < receiver_.streams().size()) {
    Result<SetupAnswer> answer = read_setup_transport(resp.headers, udp_);
    if (!answer.ok()) {
      fail(answer.status());
      return;
    }
    RtpStream& s = receiver_.streams()[o.stream];
    if (answer->has_transport && udp_) {
      s.ssrc = answer->ssrc;
      if (answer->server_rtcp_port && server_rtcp_port_ == 0) {
        server_rtcp_port_ = *answer->server_rtcp_port;
      }
    } else if (answer->channel) {
      s.channel = *answer->channel;
    }
  }
  send_next_setup(now);
}

void RtspClientSession::handle_play(const Response& resp, Instant now) {
  receiver_.start_play();
  if (const std::string* info = resp.headers.find("RTP-Info")) {
    Result<std::vector<RtpInfo>> entries = parse_rtp_info(*info);
    if (entries.ok()) {
      for (const auto& [stream, seq] : match_play_rtp_info(*entries, plan_.streams)) {
        receiver_.expect(stream, seq);
      }
    }
  }
  // A PLAY with a Range restarts the packet numbers where the position is.
  if (play_with_range_) {
    packet_number_ =
        first_packet_number(position_ms_, gate_.info().duration_ns() / 1000000, inflated_count_);
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
      std::vector<RtpStream>& streams = receiver_.streams();
      std::vector<std::optional<std::uint16_t>> end_seqs;
      end_seqs.reserve(streams.size());
      for (const RtpStream& s : streams) {
        end_seqs.push_back(s.eos_seq);
      }
      match_end_rtp_info(*entries, plan_.streams, &end_seqs);
      for (std::size_t k = 0; k < streams.size(); ++k) {
        streams[k].eos_seq = end_seqs[k];
      }
    }
  }
  if (has_line(req.body, "End-Of-Playlist-Entry")) {
    receiver_.flush(now);  // the entry's last packets
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

// --- failure and drains -------------------------------------------------------

void RtspClientSession::fail(Status status, std::string detail) {
  if (state_ == State::kFailed) {
    return;
  }
  MMS_LOG(LogLevel::kInfo, kLog, "%s failed: %s (%s, detail %u)", transport_name(), status.what(),
          to_string(status.code()), status.detail());
  close_channels();
  state_ = State::kFailed;
  receiver_.clear_held();
  events_.push_back(session::failed_event(status, std::move(detail)));
}

bool RtspClientSession::next_io_action(session::IoAction* out) {
  return session::pop_front(&actions_, out);
}

bool RtspClientSession::next_event(session::Event* out) {
  return session::pop_front(&events_, out);
}

}  // namespace mms::rtsp
