// RTSP server session. See server_session.h for the contract,
// docs/protocols/rtsp.md for the wire behaviour and docs/protocols/rtsp-wms-reference.md
// (§2 request sequence, §3 headers, §4 SDP, §5 payload format, §7 end of
// stream and playlists).
#include "protocol/rtsp/server_session.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "protocol/asf/packet.h"
#include "protocol/core/byte_writer.h"
#include "protocol/core/limits.h"
#include "protocol/core/log.h"
#include "protocol/core/text.h"
#include "protocol/rtsp/rtcp.h"
#include "protocol/rtsp/sdp_wms.h"

namespace mms::rtsp {
namespace {

constexpr const char* kLog = "rtsp-server";
constexpr const char* kServer = "WMServer/9.0.0.3372";
constexpr const char* kSupported =
    "com.microsoft.wm.srvppair, com.microsoft.wm.sswitch, com.microsoft.wm.eosmsg, "
    "com.microsoft.wm.predstrm";
constexpr const char* kPublic =
    "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER";
constexpr const char* kRealm = "mms-server";
constexpr std::size_t kStreamSlots = 128;

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

ServerSession::ServerSession(const ServerConfig* config, std::uint32_t seed, Instant now)
    : config_(config), seed_(seed), now_(now), last_activity_(now) {
  const std::uint64_t id = splitmix(seed) % 10000000000000000000ull;
  session_id_ = std::to_string(id == 0 ? 1 : id);
  char hex[40];
  std::snprintf(hex, sizeof hex, "%016llx%016llx",
                static_cast<unsigned long long>(splitmix(std::uint64_t{seed} << 1 | 1)),
                static_cast<unsigned long long>(splitmix(std::uint64_t{seed} << 2 | 3)));
  nonce_ = hex;
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

bool ServerSession::authorized(const Request& req) {
  if (config_->auth_user.empty() || authorized_) {
    return true;
  }
  const std::string* a = req.headers.find("Authorization");
  if (a == nullptr) {
    return false;
  }
  Result<std::vector<AuthChallenge>> creds = parse_auth(*a);
  if (!creds.ok() || creds->empty()) {
    return false;
  }
  const AuthChallenge& c = creds->front();
  bool ok = false;
  if (c.is("Basic")) {
    std::string user;
    std::string password;
    ok = parse_basic_credentials(c, &user, &password) && user == config_->auth_user &&
         password == config_->auth_password;
  } else if (c.is("Digest")) {
    const std::string* user = c.param("username");
    const std::string* realm = c.param("realm");
    const std::string* nonce = c.param("nonce");
    ok = user != nullptr && *user == config_->auth_user && realm != nullptr && *realm == kRealm &&
         nonce != nullptr && *nonce == nonce_ &&
         digest_verify(c, req.method, config_->auth_password);
  }
  if (ok) {
    authorized_ = true;
  } else {
    ++auth_failures_;
    MMS_LOG(LogLevel::kInfo, kLog, "session %s: wrong credentials (%s)", session_id_.c_str(),
            c.scheme.c_str());
  }
  return ok;
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
  resp->headers.add("WWW-Authenticate",
                    std::string("Digest realm=\"") + kRealm + "\", nonce=\"" + nonce_ + "\"");
  resp->headers.add("WWW-Authenticate", std::string("Basic realm=\"") + kRealm + "\"");
  if (auth_failures_ >= kRtspMaxAuthFailures) {
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

Result<std::string> ServerSession::sdp_for(const server::Content& content) const {
  SdpWriteOptions o;
  o.control = base_url_ + "/";
  o.origin_id = session_id_;
  o.include_rtx = true;
  return write_wms_sdp(content.header(), o);
}

void ServerSession::on_describe(const Request& req, Response* resp) {
  if (!authorized(req)) {
    challenge(resp);
    return;
  }
  if (!access_allowed(req)) {
    resp->status = 403;
    return;
  }
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
  SdpWriteOptions o;
  o.control = base + "/";
  o.origin_id = session_id_;
  o.include_rtx = true;
  Result<std::string> sdp =
      write_wms_sdp(has_session() ? content_->header() : entries_.front()->header(), o);
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
  if (!authorized(req)) {
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
