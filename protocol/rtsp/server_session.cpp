// RTSP server session. See server_session.h for the contract,
// docs/protocols/rtsp.md for the wire behaviour and docs/protocols/rtsp-wms-reference.md
// (§2 request sequence, §3 headers, §4 SDP, §5 payload format, §7 end of
// stream and playlists).
#include "protocol/rtsp/server_session.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "protocol/core/limits.h"
#include "protocol/core/log.h"
#include "protocol/core/text.h"
#include "protocol/rtsp/sdp_wms.h"
#include "protocol/session/metadata.h"

namespace mms::rtsp {
namespace {

constexpr const char* kLog = "rtsp-server";
constexpr const char* kServer = "WMServer/9.0.0.3372";
constexpr const char* kSupported =
    "com.microsoft.wm.srvppair, com.microsoft.wm.sswitch, com.microsoft.wm.eosmsg, "
    "com.microsoft.wm.predstrm";
constexpr const char* kPublic =
    "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER";

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// The path of a request-URI: "rtsp://host[:port]/a/b?q" -> "/a/b"; "/a/b" kept.
std::string uri_path(std::string_view uri) {
  const std::size_t scheme = uri.find("://");
  if (scheme != std::string_view::npos) {
    const std::size_t slash = uri.find('/', scheme + 3);
    uri = slash == std::string_view::npos ? std::string_view() : uri.substr(slash);
  }
  const std::size_t q = uri.find_first_of("?#");
  if (q != std::string_view::npos) {
    uri = uri.substr(0, q);
  }
  return std::string(uri);
}

// Removes a trailing stream control ("stream=<n>", "rtx") from a path;
// `control` gets it ("" when none).
std::string split_control(std::string path, std::string* control) {
  control->clear();
  while (!path.empty() && path.back() == '/') {
    path.pop_back();
  }
  const std::size_t slash = path.rfind('/');
  const std::string last = slash == std::string::npos ? path : path.substr(slash + 1);
  if (last == "rtx" || istarts_with(last, "stream=")) {
    *control = last;
    path.resize(slash == std::string::npos ? 0 : slash);
  }
  return path;
}

// Content name of a path: leading '/' removed (and trailing ones).
std::string content_name(std::string path) {
  while (!path.empty() && path.front() == '/') {
    path.erase(0, 1);
  }
  while (!path.empty() && path.back() == '/') {
    path.pop_back();
  }
  return path;
}

// Aggregate URL of a request-URI: query removed, trailing '/' and stream
// control removed.
std::string aggregate_of(std::string_view uri) {
  const std::size_t q = uri.find_first_of("?#");
  std::string u(q == std::string_view::npos ? uri : uri.substr(0, q));
  std::string control;
  return split_control(std::move(u), &control);
}

void append(std::vector<std::uint8_t>* out, const std::string& s) {
  out->insert(out->end(), s.begin(), s.end());
}

}  // namespace

ServerSession::ServerSession(const ServerConfig* config, std::uint32_t seed, Instant now)
    : config_(config), seed_(seed), now_(now), last_activity_(now) {
  const std::uint64_t id = splitmix(seed) % 10000000000000000000ull;
  session_id_ = std::to_string(id == 0 ? 1 : id);
  char hex[40];
  std::snprintf(hex, sizeof hex, "%016llx%016llx",
                static_cast<unsigned long long>(splitmix(std::uint64_t{seed} << 1 | 1)),
                static_cast<unsigned long long>(splitmix(std::uint64_t{seed} << 2 | 3)));
  auth_ = auth::ServerAuth(&config_->auth, hex, session_id_, kLog);
  gen_id_ = static_cast<std::uint32_t>(splitmix(seed ^ 0x5EEDull) % 60000u) + 1;
}

// ---------------------------------------------------------------------------
// Input

Result<std::size_t> ServerSession::on_bytes(ByteView in, Instant now) {
  now_ = now;
  if (state_ == State::kDone || peer_gone_) {
    return in.size();  // closing: later bytes are discarded
  }
  std::size_t used = 0;
  while (used < in.size() && state_ != State::kDone) {
    Unit u;
    Status error;
    const ByteView rest = in.subview(used);
    const Decode d = decode_unit(rest, &u, &error);
    if (d == Decode::kNeedMore) {
      if (rest.size() > limits::kMaxRtspHead + kMaxRtspRequestBody) {
        error = Status(Code::kLimitExceeded, "rtsp: request larger than the server accepts");
      } else {
        break;
      }
    } else if (d == Decode::kDone && u.kind == UnitKind::kRequest &&
               u.request.body.size() > kMaxRtspRequestBody) {
      error = Status(Code::kLimitExceeded, "rtsp: request body larger than kMaxRtspRequestBody");
    } else if (d == Decode::kDone) {
      used += u.wire_size;
      last_activity_ = now;
      if (u.kind == UnitKind::kRequest) {
        handle_request(u.request, now);
      } else if (u.kind == UnitKind::kResponse) {
        MMS_LOG(LogLevel::kDebug, kLog, "session %s: client answered %d", session_id_.c_str(),
                u.response.status);
      }
      // Interleaved frames from the client (RTCP) are ignored.
      continue;
    }
    MMS_LOG(LogLevel::kWarning, kLog, "session %s: bad request: %s", session_id_.c_str(),
            error.what());
    reply_error(400);
    state_ = State::kDone;
    datagrams_.clear();
    return error;
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
  if (state_ == State::kPlaying && report_at_ && now >= *report_at_) {
    queue_reports(false);
    report_at_ = now + kRtspReportInterval;
  }
  if (now - last_activity_ >= config_->session_timeout) {
    MMS_LOG(LogLevel::kInfo, kLog, "session %s: no sign of the client for %lld ms: closing",
            session_id_.c_str(), static_cast<long long>(config_->session_timeout / kMillisecond));
    state_ = State::kDone;
    datagrams_.clear();
    pending_.clear();  // unread output is abandoned with the session
    pending_pos_ = 0;
  }
}

std::optional<Instant> ServerSession::next_deadline() const {
  if (state_ == State::kDone) {
    return std::nullopt;
  }
  std::optional<Instant> at = last_activity_ + config_->session_timeout;
  if (state_ == State::kPlaying && report_at_ && *report_at_ < *at) {
    at = report_at_;
  }
  auto earliest = [&at](Instant t) {
    if (!at || t < *at) {
      at = t;
    }
  };
  if (!datagrams_.empty()) {
    earliest(now_);  // the I/O layer yielded (or must re-read udp_port()) with datagrams left
  }
  if (state_ == State::kPlaying && pending_pos_ >= pending_.size() && datagrams_.empty() &&
      content_) {
    if (content_->fed() && next_packet_ >= content_->packet_count() && !content_->ended()) {
      // Waiting for the feed: the I/O layer calls again when it grows.
    } else if (next_packet_ >= content_->packet_count()) {
      earliest(eos_at_ ? *eos_at_ : now_);  // end of entry to report
    } else if (paced_) {
      earliest(due_time(next_packet_) + (-kRtspPacingSlack));
    } else if (udp_) {
      // Window full: a report wakes us (on_datagram), else the open-loop
      // fallback after kRtspReportWait; open-loop: the next tick.
      earliest(windowed(now_) ? report_wait_end() : tick_start_ + kRtspUdpFastTick);
    } else {
      earliest(now_);
    }
  }
  return at;
}

void ServerSession::reply(const Request& req, Response* resp) {
  resp->version_minor = 0;
  if (resp->reason.empty()) {
    resp->reason = reason_phrase(resp->status);
  }
  Headers h;
  if (const std::string* cseq = req.headers.find("CSeq")) {
    h.add("CSeq", *cseq);
  }
  h.add("Server", kServer);
  for (Header& x : resp->headers.list) {
    h.list.push_back(std::move(x));
  }
  resp->headers = std::move(h);
  if (req.method == "DESCRIBE" || req.method == "SETUP" || req.method == "PLAY") {
    served_path_ = uri_path(aggregate_of(req.uri));
    served_status_ = resp->status;
  }
  append(&pending_, write_response(*resp));
}

void ServerSession::reply_error(int status) {
  Response r;
  r.status = status;
  r.reason = reason_phrase(status);
  r.headers.add("Server", kServer);
  append(&pending_, write_response(r));
}

void ServerSession::queue_request(Request* req) {
  req->version_minor = 0;
  Headers h;
  h.add("CSeq", std::to_string(++server_cseq_));
  for (Header& x : req->headers.list) {
    h.list.push_back(std::move(x));
  }
  h.add("Server", kServer);
  req->headers = std::move(h);
  append(&pending_, write_request(*req));
}

// ---------------------------------------------------------------------------
// Requests

void ServerSession::handle_request(const Request& req, Instant now) {
  MMS_LOG(LogLevel::kDebug, kLog, "session %s: <- %s %.200s", session_id_.c_str(),
          req.method.c_str(), req.uri.c_str());
  Response resp;
  resp.status = 200;
  if (busy_) {
    MMS_LOG(LogLevel::kInfo, kLog, "session %s: %s -> 503 (server full)", session_id_.c_str(),
            req.method.c_str());
    resp.status = 503;
    reply(req, &resp);
    served_status_ = 503;
    // Closed after a content request: a client may ignore a failed OPTIONS.
    if (req.method == "DESCRIBE" || req.method == "SETUP" || req.method == "PLAY") {
      state_ = State::kDone;
    }
    return;
  }
  if (!cseq_of(req.headers).ok()) {
    resp.status = 400;
    reply(req, &resp);
    return;
  }
  const std::string& m = req.method;
  if (m == "OPTIONS") {
    on_options(req, &resp);
  } else if (m == "DESCRIBE") {
    on_describe(req, &resp);
  } else if (m == "SETUP") {
    on_setup(req, &resp);
  } else if (m == "PLAY") {
    on_play(req, &resp, now);
  } else if (m == "PAUSE") {
    on_pause(req, &resp);
  } else if (m == "GET_PARAMETER" || m == "SET_PARAMETER") {
    // Keepalive, LogConnect, packet pair, client statistics: nothing to do.
    if (session_matches(req, &resp) && has_session()) {
      resp.headers.add("Session", session_id_);
    }
  } else if (m == "TEARDOWN") {
    if (session_matches(req, &resp)) {
      if (has_session()) {
        resp.headers.add("Session", session_id_);
      }
      MMS_LOG(LogLevel::kInfo, kLog, "session %s: TEARDOWN after %u packets", session_id_.c_str(),
              data_sent_);
      reply(req, &resp);
      state_ = State::kDone;
      datagrams_.clear();
      return;
    }
  } else if (m == "ANNOUNCE" || m == "RECORD" || m == "REDIRECT") {
    resp.status = 405;
    resp.headers.add("Allow", kPublic);
  } else {
    resp.status = 501;
  }
  reply(req, &resp);
}

void ServerSession::on_options(const Request& /*req*/, Response* resp) {
  resp->headers.add("Public", kPublic);
  resp->headers.add("Supported", kSupported);
}

bool ServerSession::session_matches(const Request& req, Response* resp) const {
  const std::string* s = req.headers.find("Session");
  if (s == nullptr) {
    return true;  // lenient: one session per connection
  }
  Result<SessionHeader> sh = parse_session(*s);
  if (!sh.ok() || !has_session() || sh->id != session_id_) {
    resp->status = 454;
    return false;
  }
  return true;
}

bool ServerSession::access_allowed(const Request& req) {
  if (!config_->authorize) {
    return true;
  }
  const std::string path = uri_path(aggregate_of(req.uri));
  if (granted_path_ && *granted_path_ == path) {
    return true;
  }
  const std::string_view pq = path_and_query(req.uri);
  const std::size_t q = pq.find('?');
  const std::string_view query = q == std::string_view::npos ? std::string_view() : pq.substr(q);
  if (!config_->authorize(path + std::string(query))) {
    MMS_LOG(LogLevel::kInfo, kLog, "session %s: %s %.200s: access denied", session_id_.c_str(),
            req.method.c_str(), req.uri.c_str());
    return false;
  }
  granted_path_ = path;
  return true;
}

void ServerSession::challenge(Response* resp) {
  resp->status = 401;
  for (std::string& v : auth_.challenges()) {
    resp->headers.add("WWW-Authenticate", std::move(v));
  }
  if (auth_.failures() >= kRtspMaxAuthFailures) {
    state_ = State::kDone;
  }
}

bool ServerSession::open_content(const std::string& name, Response* resp,
                                 std::vector<std::shared_ptr<const server::Content>>* entries) {
  const auto redirect = config_->redirects.find(name);
  if (redirect != config_->redirects.end()) {
    MMS_LOG(LogLevel::kInfo, kLog, "session %s: redirect '%s' -> %s", session_id_.c_str(),
            name.c_str(), redirect->second.c_str());
    resp->status = 302;
    resp->headers.add("Location", redirect->second);
    state_ = State::kDone;  // the client reconnects to the new location
    return false;
  }
  std::vector<std::string> names;
  const auto pl = config_->playlists.find(name);
  if (pl != config_->playlists.end()) {
    names = pl->second;
  } else {
    names.push_back(name);
  }
  entries->clear();
  for (const std::string& n : names) {
    Result<std::shared_ptr<const server::Content>> c =
        n.empty() || config_->content == nullptr
            ? Result<std::shared_ptr<const server::Content>>(Status(Code::kNotFound, "empty name"))
            : config_->content->open("/" + n);
    if (!c.ok()) {
      MMS_LOG(LogLevel::kInfo, kLog, "session %s: '%.200s': %s", session_id_.c_str(), n.c_str(),
              c.status().what());
      resp->status = c.status().code() == Code::kNotFound ? 404 : 500;
      entries->clear();
      return false;
    }
    entries->push_back(*c);
  }
  if (entries->empty()) {
    resp->status = 404;
    return false;
  }
  return true;
}

Result<std::string> ServerSession::sdp_for(const server::Content& content,
                                           const std::string& base) const {
  SdpWriteOptions o;
  o.control = base + "/";
  o.origin_id = session_id_;
  o.include_rtx = true;
  if (wmp_client_) {
    // Only Windows Media players get the list: with it GStreamer's rtspsrc,
    // which takes the first a=pgmpu as the header, lost its UDP runs more often.
    session::ContentDescription d = session::describe_entry(
        content.info().tags,
        content.live() ? std::nullopt : std::optional<std::uint32_t>(content.duration_ms()));
    if (playlist_) {
      // As Windows Media Services does for a server-side playlist's entry.
      d.fields.push_back({session::kCdlPlaylistEntryUrl, session::kCdlTypeLpwstr, content.name()});
    }
    o.content_description = session::encode_sdp_cdl({d});
  }
  return write_wms_sdp(content.header(), o);
}

void ServerSession::on_describe(const Request& req, Response* resp) {
  if (!auth_.check(req.method, req.headers.find("Authorization"))) {
    challenge(resp);
    return;
  }
  if (!access_allowed(req)) {
    resp->status = 403;
    return;
  }
  const std::string* ua = req.headers.find("User-Agent");
  wmp_client_ = ua != nullptr && istarts_with(*ua, "WMPlayer/");
  std::vector<std::shared_ptr<const server::Content>> entries;
  const std::string name = content_name(uri_path(aggregate_of(req.uri)));
  if (!open_content(name, resp, &entries)) {
    return;
  }
  if (!has_session()) {
    base_url_ = aggregate_of(req.uri);
    entries_ = std::move(entries);
    entry_ = 0;
    content_ = entries_.front();
    playlist_ = config_->playlists.count(name) != 0;
  }
  // The SDP of what was asked (the session keeps its content once set up).
  const std::string base = aggregate_of(req.uri);
  Result<std::string> sdp = sdp_for(has_session() ? *content_ : *entries_.front(), base);
  if (!sdp.ok()) {
    MMS_LOG(LogLevel::kWarning, kLog, "session %s: no SDP for '%s': %s", session_id_.c_str(),
            name.c_str(), sdp.status().what());
    resp->status = 500;
    return;
  }
  resp->headers.add("Content-Type", "application/sdp");
  resp->headers.add("Content-Base", base + "/");
  resp->headers.add("X-Playlist-Gen-Id", std::to_string(gen_id_));
  resp->headers.add("X-Broadcast-Id", "0");
  resp->headers.add("Supported", kSupported);
  resp->body = std::move(*sdp);
}

std::uint32_t ServerSession::new_ssrc() {
  for (;;) {
    const auto s = static_cast<std::uint32_t>(
        splitmix(std::uint64_t{seed_} << 8 ^ ++ssrc_counter_ ^ 0xA5A5000000ull));
    bool used = s == 0 || s == rtx_ssrc_;
    for (const Slot& x : slots_) {
      used = used || x.ssrc == s;
    }
    if (!used) {
      return s;
    }
  }
}

void ServerSession::set_source(Slot* slot, std::uint16_t source) {
  slot->source = source;
  slot->keep.assign(kStreamSlots, false);
  if (source != 0 && source < kStreamSlots) {
    slot->keep[source] = true;
  }
}

void ServerSession::on_setup(const Request& req, Response* resp) {
  if (!auth_.check(req.method, req.headers.find("Authorization"))) {
    challenge(resp);
    return;
  }
  if (!session_matches(req, resp)) {
    return;
  }
  if (!access_allowed(req)) {
    resp->status = 403;
    return;
  }
  if (state_ == State::kPlaying) {
    resp->status = 455;
    return;
  }
  std::string control;
  const std::string path = split_control(uri_path(req.uri), &control);
  if (!content_) {
    std::vector<std::shared_ptr<const server::Content>> entries;
    const std::string name = content_name(path);
    if (!open_content(name, resp, &entries)) {
      return;
    }
    base_url_ = aggregate_of(req.uri);
    entries_ = std::move(entries);
    entry_ = 0;
    content_ = entries_.front();
    playlist_ = config_->playlists.count(name) != 0;
  }
  const bool rtx = control == "rtx";
  std::uint32_t number = 0;
  if (!rtx) {
    if (control.size() <= 7 || !parse_u32(std::string_view(control).substr(7), &number) ||
        number == 0 || number >= kStreamSlots ||
        !content_->has_stream(static_cast<std::uint16_t>(number))) {
      resp->status = 404;
      return;
    }
  }
  const std::string* tv = req.headers.find("Transport");
  if (tv == nullptr) {
    resp->status = 461;
    return;
  }
  Result<std::vector<Transport>> ts = parse_transports(*tv);
  if (!ts.ok()) {
    resp->status = 400;
    return;
  }
  // The first transport we can serve.
  const Transport* chosen = nullptr;
  for (const Transport& t : *ts) {
    if (!iequals(t.protocol, "RTP/AVP") || !t.unicast) {
      continue;
    }
    if (t.tcp()) {
      chosen = &t;
      break;
    }
    if ((t.lower.empty() || t.lower == "UDP") && t.client_port && t.client_port->first != 0 &&
        !config_->refuse_udp) {
      chosen = &t;
      break;
    }
  }
  if (chosen == nullptr) {
    MMS_LOG(LogLevel::kInfo, kLog, "session %s: unsupported transport '%.200s'",
            session_id_.c_str(), tv->c_str());
    resp->status = 461;
    return;
  }
  const bool tcp = chosen->tcp();
  if (!rtx && !slots_.empty() && tcp == udp_) {
    resp->status = 461;  // every media stream uses the same kind of transport
    return;
  }
  Transport answer = *chosen;
  if (!tcp && config_->udp_port != 0) {
    PortPair sp;
    sp.first = config_->udp_port;
    if (config_->udp_port < 65535) {
      sp.second = static_cast<std::uint16_t>(config_->udp_port + 1);
    }
    answer.server_port = sp;
  }
  if (rtx) {
    if (!rtx_set_up_) {
      rtx_ssrc_ = new_ssrc();
    }
    rtx_set_up_ = true;
    answer.ssrc = rtx_ssrc_;
    if (!tcp) {
      rtx_port_ = chosen->client_port->first;
      rtx_rtcp_port_ = chosen->client_port->second.value_or(0);
    }
    if (tcp && !answer.interleaved) {
      PortPair ch;
      ch.first = 0xFE;
      ch.second = 0xFF;
      answer.interleaved = ch;
    }
  } else {
    const auto n = static_cast<std::uint16_t>(number);
    Slot* slot = nullptr;
    for (Slot& s : slots_) {
      if (s.number == n) {
        slot = &s;  // set up again: new transport, same SSRC and sequence
      }
    }
    if (slot == nullptr) {
      Slot s;
      s.number = n;
      s.ssrc = new_ssrc();
      PayloaderConfig pc;
      pc.ssrc = s.ssrc;
      pc.first_seq =
          static_cast<std::uint16_t>(splitmix(seed_ ^ (std::uint64_t{n} << 40)) & 0x7FFF);
      pc.mtu = tcp ? kRtspTcpMtu : kRtspUdpMtu;
      s.payloader = std::make_unique<AsfPayloader>(pc);
      set_source(&s, n);
      slots_.push_back(std::move(s));
      slot = &slots_.back();
    }
    slot->url = req.uri;
    udp_ = !tcp;
    if (tcp) {
      std::uint8_t channel = 0;
      if (chosen->interleaved && chosen->interleaved->first < 255) {
        channel = static_cast<std::uint8_t>(chosen->interleaved->first);
      } else {
        channel = static_cast<std::uint8_t>(std::min<std::size_t>(2 * (slots_.size() - 1), 254));
        PortPair ch;
        ch.first = channel;
        ch.second = static_cast<std::uint16_t>(channel + 1);
        answer.interleaved = ch;
      }
      slot->channel = channel;
    } else {
      slot->client_port = chosen->client_port->first;
      slot->shared_seq = !chosen->client_port->second;
      slot->rtcp_port = chosen->client_port->second.value_or(0);
      if (slot->shared_seq && port_seq_.count(slot->client_port) == 0) {
        port_seq_[slot->client_port] = slot->payloader->next_seq();
      }
    }
    answer.ssrc = slot->ssrc;
  }
  if (state_ == State::kInit) {
    state_ = State::kReady;
  }
  MMS_LOG(LogLevel::kInfo, kLog, "session %s: SETUP %s over %s", session_id_.c_str(),
          rtx ? "rtx" : control.c_str(), tcp ? "TCP" : "UDP");
  resp->headers.add("Transport", format_transport(answer));
  resp->headers.add("Session", format_session(SessionHeader{session_id_, timeout_seconds()}));
}

void ServerSession::on_play(const Request& req, Response* resp, Instant now) {
  if (!session_matches(req, resp)) {
    return;
  }
  if (slots_.empty() || !content_ || state_ == State::kInit) {
    resp->status = 455;
    return;
  }
  if (config_->authorize && !granted_path_) {
    resp->status = 403;  // unreachable: a SETUP was granted first
    return;
  }
  std::optional<NptRange> range;
  if (const std::string* rv = req.headers.find("Range")) {
    Result<NptRange> r = parse_range(*rv);
    if (!r.ok()) {
      resp->status = r.status().code() == Code::kUnsupported ? 457 : 400;
      return;
    }
    range = *r;
  }
  const std::uint32_t count = content_->packet_count();
  const std::uint64_t preroll = content_->info().preroll_ms;
  const std::uint64_t end_ms = std::uint64_t{content_->duration_ms()} + preroll;
  std::uint32_t start = next_packet_;
  bool restart = true;
  if (state_ == State::kAnnounced) {
    if (range && range->start_ms && !content_->live()) {
      if (*range->start_ms >= end_ms) {
        resp->status = 457;
        return;
      }
      start = choose_start(*range->start_ms);
    } else {
      // The next entry from its start (live: the next loop; a publishing
      // point: the new header's first packet).
      start = content_->fed() ? content_->first_packet() : 0;
    }
  } else if (content_->live()) {
    const bool seek = range && range->start_ms && !range->start_now;
    if (played_ && seek && state_ == State::kPlaying) {
      resp->status = 457;  // a broadcast cannot seek
      return;
    }
    if (state_ == State::kPlaying) {
      restart = false;
    } else {
      // Broadcast Fast Start: join that far behind live (protocol/core/fast_start.h).
      std::uint32_t behind_ms = 0;
      if (const std::string* x = req.headers.find("X-Accelerate-Streaming")) {
        behind_ms = broadcast_fast_start_ms(parse_accelerate_streaming(*x).duration_ms,
                                            config_->fast_start_factor);
      }
      start = content_->fed() ? content_->live_start(behind_ms) : live_join(now, behind_ms);
    }
  } else if (range && range->start_ms && !range->start_now) {
    if (*range->start_ms >= end_ms) {
      resp->status = 457;
      return;
    }
    start = choose_start(*range->start_ms);
  } else if (state_ == State::kPlaying) {
    restart = false;  // PLAY without Range while playing: carry on
  } else if (state_ == State::kPaused) {
    start = next_packet_;  // resume
  } else if (!played_ || next_packet_ >= count) {
    start = 0;
  }
  if (restart) {
    start = std::min(start, count);
  }
  const std::uint32_t first = restart ? start : next_packet_;
  // Range of the reply: where the flow starts (presentation time incl. preroll).
  NptRange out;
  std::uint64_t from = preroll;
  if (first < count) {
    const server::PacketMeta& pm = content_->meta(first);
    from = pm.presentation_ms != server::PacketMeta::kNoTime ? pm.presentation_ms : pm.send_time_ms;
  }
  if (range && range->start_ms && !range->start_now && !content_->live()) {
    from = std::min<std::uint64_t>(from, *range->start_ms);
  }
  out.start_ms = std::max(from, preroll);
  if (!content_->live()) {
    out.start_ms = std::min(*out.start_ms, end_ms);
    out.end_ms = end_ms;
  }
  resp->headers.add("Range", format_range(out));
  resp->headers.add("RTP-Info", rtp_info(true, first));
  resp->headers.add("Session", session_id_);
  resp->headers.add("X-Playlist-Gen-Id", std::to_string(gen_id_));
  MMS_LOG(LogLevel::kInfo, kLog, "session %s: PLAY %.60s -> packet %u of %u (%s, %s, %s)",
          session_id_.c_str(), req.headers.find("Range") ? req.headers.find("Range")->c_str() : "-",
          first, count, udp_ ? "UDP" : "TCP",
          content_->live() ? "live" : (config_->fast ? "fast" : "paced"),
          restart ? "restart" : "continue");
  if (restart) {
    start_flow(start, now);
    accel_ = FastStart();
    if (paced_ && !content_->live()) {
      if (const std::string* x = req.headers.find("X-Accelerate-Streaming")) {
        const AccelRequest a = parse_accelerate_streaming(*x);
        accel_ = FastStart::grant(a.duration_ms, a.bandwidth_bps, server::content_bps(*content_),
                                  config_->fast_start_factor);
      }
    }
  }
}

void ServerSession::on_pause(const Request& req, Response* resp) {
  if (!session_matches(req, resp)) {
    return;
  }
  if (!has_session()) {
    resp->status = 455;
    return;
  }
  if (state_ == State::kPlaying) {
    // Datagrams already made still go out: their packets and sequence numbers
    // are spent, and PLAY resumes after them.
    state_ = State::kPaused;
  }
  resp->headers.add("Session", session_id_);
}

}  // namespace mms::rtsp
