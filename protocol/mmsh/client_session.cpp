#include "protocol/mmsh/client_session.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "protocol/asf/stream_selector.h"
#include "protocol/core/limits.h"
#include "protocol/core/log.h"
#include "protocol/core/text.h"
#include "protocol/mmsh/redirector.h"

namespace mms::mmsh {
namespace {

constexpr const char* kLog = "mmsh-client";
// HRESULT bit 31: the $E reason is an error.
constexpr std::uint32_t kHresultErrorBit = 0x80000000u;

bool has_feature(const std::string& features, const char* name) {
  std::size_t pos = 0;
  std::string_view list(features);
  std::string_view want(name);
  while (pos <= list.size()) {
    std::size_t comma = list.find(',', pos);
    std::string_view item =
        list.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    while (!item.empty() && (item.front() == ' ' || item.front() == '"')) {
      item.remove_prefix(1);
    }
    while (!item.empty() && (item.back() == ' ' || item.back() == '"')) {
      item.remove_suffix(1);
    }
    if (item == want) {
      return true;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    pos = comma + 1;
  }
  return false;
}

}  // namespace

MmshClientSession::MmshClientSession(session::ClientConfig config)
    : config_(std::move(config)),
      current_url_(config_.url),
      auth_(config_.client_guid, true),
      proxy_auth_(config_.client_guid, true) {
  asf::HeaderGateOptions o;
  o.log_component = kLog;
  o.connection_speed_kbps = config_.connection_speed_kbps;
  o.audio_only = config_.audio_only;
  o.same_when_repaired_equal = true;  // servers resend $H with or without what repair fixes
  gate_ = asf::HeaderGate(o);
  if (config_.known_bandwidth_bps != 0) {
    gate_.set_measured_bandwidth(config_.known_bandwidth_bps);
    probed_ = true;  // measured already: no probe again
  }
}

void MmshClientSession::play(const session::PlayRequest& req, Instant now) {
  if (state_ == State::kFailed) {
    return;
  }
  position_ms_ = req.position_ms;
  if (!gate_.known()) {
    if (state_ == State::kIdle) {
      start_phase(Phase::kDescribe, now);
    }
    return;
  }
  // Seek (or restart after EOS): stop the current stream, play from the position.
  discont_pending_ = true;
  start_phase(Phase::kPlay, now);
}

void MmshClientSession::close() {
  close_channel();
  if (state_ != State::kFailed) {
    state_ = State::kDone;
  }
}

void MmshClientSession::close_channel() {
  if (channel_ != 0) {
    session::IoAction a;
    a.kind = session::IoAction::Kind::kClose;
    a.channel = channel_;
    actions_.push_back(std::move(a));
    channel_ = 0;
  }
}

void MmshClientSession::start_phase(Phase phase, Instant now) {
  close_channel();
  auth_.new_connection();
  proxy_auth_.new_connection();
  phase_ = phase;
  channel_ = next_channel_++;
  state_ = State::kConnecting;
  header_seen_in_body_ = false;
  assembler_.reset();
  meta_assembler_.reset();
  touch(now);
  session::IoAction a;
  a.kind = session::IoAction::Kind::kConnectTcp;
  a.channel = channel_;
  if (config_.proxy) {
    a.host = config_.proxy->host;
    a.port = config_.proxy->port != 0 ? config_.proxy->port : 3128;
  } else {
    a.host = current_url_.host;
    a.port = current_url_.scheme == "mms" && current_url_.port == 0 ? std::uint16_t{80}
                                                                    : current_url_.effective_port();
  }
  MMS_LOG(LogLevel::kInfo, kLog, "%s: connecting to %s:%u for %s", current_url_.redacted().c_str(),
          a.host.c_str(), a.port, phase == Phase::kDescribe ? "describe" : "play");
  actions_.push_back(std::move(a));
}

void MmshClientSession::touch(Instant now) {
  last_activity_ = now;
}

void MmshClientSession::on_connected(session::ChannelId ch, Instant now) {
  if (ch != channel_ || state_ != State::kConnecting) {
    return;
  }
  touch(now);
  if (phase_ == Phase::kPlay && !announced_) {
    announced_ = true;  // the stream is established on its media connection
    session::Event e;
    e.kind = session::Event::Kind::kConnected;
    e.detail = "mmsh";
    events_.push_back(std::move(e));
  }
  send_request(now);
}

void MmshClientSession::on_connect_failed(session::ChannelId ch, Status why, Instant) {
  if (ch != channel_ || state_ == State::kFailed) {
    return;
  }
  channel_ = 0;
  fail(why);
}

auth::Credentials MmshClientSession::credentials() const {
  if (!config_.user.empty()) {
    return auth::Credentials{config_.user, config_.password};
  }
  return auth::Credentials{current_url_.user, current_url_.password};
}

auth::Credentials MmshClientSession::proxy_credentials() const {
  if (!config_.proxy) {
    return auth::Credentials{};
  }
  return auth::Credentials{config_.proxy->user, config_.proxy->password};
}

void MmshClientSession::send_request(Instant now) {
  HttpRequest req;
  req.method = "GET";
  req.version_minor = 0;
  if (config_.proxy) {
    Url target = current_url_;
    target.scheme = "http";
    if (target.port == 0) {
      target.port = 80;
    }
    req.target = target.to_string(false);
  } else {
    req.target = current_url_.path;
  }
  HttpHeaders& h = req.headers;
  h.add("Accept", "*/*");
  h.add("User-Agent", config_.user_agent);
  Url host_url = current_url_;
  if (host_url.scheme == "mms" && host_url.port == 0) {
    host_url.port = 0;  // default HTTP port is implied
  }
  h.add("Host", host_url.host_port());
  ++request_context_;
  char pragma[256];
  if (phase_ == Phase::kDescribe) {
    std::snprintf(pragma, sizeof pragma,
                  "no-cache,rate=1.000000,stream-time=0,stream-offset=0:0,request-context=%d,"
                  "max-duration=0",
                  request_context_);
    h.add("Pragma", pragma);
    if (config_.packet_pair && !probed_) {
      h.add("Pragma", "packet-pair-experiment=1");
    }
  } else {
    bool live = gate_.info().broadcast() || (features_known_ && features_broadcast_);
    if (live) {
      std::snprintf(pragma, sizeof pragma, "no-cache,rate=1.000000,request-context=%d",
                    request_context_);
    } else {
      std::snprintf(pragma, sizeof pragma,
                    "no-cache,rate=1.000000,stream-time=%llu,stream-offset=4294967295:4294967295,"
                    "packet-num=4294967295,request-context=%d,max-duration=0",
                    static_cast<unsigned long long>(position_ms_), request_context_);
    }
    h.add("Pragma", pragma);
    h.add("Pragma", "xPlayStrm=1");
    if (config_.fast_start_ms > 0) {
      // Fast Start, as Windows Media Player asks for it (a broadcast server
      // answers by starting that far behind live, protocol/core/fast_start.h).
      std::snprintf(pragma, sizeof pragma, "LinkBW=%u, AccelBW=%u, AccelDuration=%u",
                    kFastStartAnyBandwidth, kFastStartAnyBandwidth, config_.fast_start_ms);
      h.add("Pragma", pragma);
    }
  }
  if (have_client_id_) {
    h.add("Pragma", "client-id=" + std::to_string(client_id_));
  }
  h.add("Pragma", "xClientGUID=" + config_.client_guid);
  if (phase_ == Phase::kPlay && !gate_.selection().empty()) {
    std::vector<StreamSwitchEntry> entries;
    for (const asf::StreamChoice& c : gate_.selection()) {
      StreamSwitchEntry e;
      e.stream = c.number;
      e.thinning = c.selected ? 0 : 2;
      entries.push_back(e);
    }
    h.add("Pragma", "stream-switch-count=" + std::to_string(entries.size()));
    h.add("Pragma", "stream-switch-entry=" + format_stream_switch(entries));
  }
  auth_.next_request();
  proxy_auth_.next_request();
  // An NTLM NEGOTIATE needs its answer on this connection.
  const bool keep_alive = auth_.wants_keep_alive() || proxy_auth_.wants_keep_alive();
  std::string authorization = auth_.authorization(req.method, req.target, credentials());
  if (!authorization.empty()) {
    h.add("Authorization", std::move(authorization));
  }
  if (config_.proxy) {
    std::string proxy_authorization =
        proxy_auth_.authorization(req.method, req.target, proxy_credentials());
    if (!proxy_authorization.empty()) {
      h.add("Proxy-Authorization", std::move(proxy_authorization));
    }
  }
  h.add("X-Accept-Authentication", "Negotiate, NTLM, Digest, Basic");
  h.add("Connection", keep_alive ? "Keep-Alive" : "Close");
  last_request_ = write_request(req);
  session::IoAction a;
  a.kind = session::IoAction::Kind::kSend;
  a.channel = channel_;
  a.bytes = last_request_;
  actions_.push_back(std::move(a));
  state_ = State::kAwaitHead;
  touch(now);
}

std::size_t MmshClientSession::on_bytes(session::ChannelId ch, ByteView bytes, Instant now) {
  if (ch != channel_ || state_ == State::kFailed || state_ == State::kDone) {
    return bytes.size();  // stale channel: discard
  }
  touch(now);
  std::size_t consumed = 0;
  while (consumed < bytes.size() && ch == channel_) {
    std::size_t n = 0;
    if (state_ == State::kAwaitHead) {
      n = handle_head(bytes.subview(consumed), now);
    } else if (state_ == State::kBody || state_ == State::kWaitChange) {
      n = handle_body(bytes.subview(consumed), now);
    } else if (state_ == State::kRedirector) {
      n = handle_redirector(bytes.subview(consumed), now);
    } else if (state_ == State::kSkipBody) {
      n = static_cast<std::size_t>(std::min<std::uint64_t>(skip_left_, bytes.size() - consumed));
      skip_left_ -= n;
      if (skip_left_ == 0) {
        send_request(now);
      }
    } else {
      return bytes.size();
    }
    if (n == 0) {
      break;
    }
    consumed += n;
  }
  if (ch != channel_ || state_ == State::kFailed || state_ == State::kDone) {
    return bytes.size();
  }
  return consumed;
}

std::size_t MmshClientSession::handle_head(ByteView bytes, Instant now) {
  HttpResponse resp;
  std::size_t consumed = 0;
  Status error;
  // Anything but "HTTP/" is not an MMSH server: say so now rather than wait.
  static constexpr char kHttp[] = "HTTP/";
  for (std::size_t i = 0; i < bytes.size() && i < 5; ++i) {
    char c = static_cast<char>(bytes[i]);
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
    if (c != kHttp[i]) {
      fail(Status(Code::kMalformed, "server answered with something that is not HTTP"));
      return 0;
    }
  }
  Decode d = parse_response_head(bytes, &resp, &consumed, &error);
  if (d == Decode::kNeedMore) {
    return 0;
  }
  if (d == Decode::kError) {
    fail(Status(Code::kMalformed, "server sent a malformed HTTP response"));
    return 0;
  }
  MMS_LOG(LogLevel::kDebug, kLog, "%s response %d %s",
          phase_ == Phase::kDescribe ? "describe" : "play", resp.status, resp.reason.c_str());
  const int status = resp.status;
  if (status == 401 || (status == 407 && config_.proxy)) {
    const bool proxy = status == 407;
    std::vector<std::string_view> offered =
        resp.headers.all(proxy ? "Proxy-Authenticate" : "WWW-Authenticate");
    if (offered.empty()) {
      offered.emplace_back("Basic");  // old servers and proxies challenge without saying how
    }
    Status taken = proxy ? proxy_auth_.on_challenge(offered, status, proxy_credentials())
                         : auth_.on_challenge(offered, status, credentials());
    if (taken.ok() && (proxy ? proxy_auth_ : auth_).continuing()) {
      // NTLM: the AUTHENTICATE goes on this connection, after the 401's body.
      std::uint32_t length = 0;
      const std::string* cl = resp.headers.find("Content-Length");
      const std::string* connection = resp.headers.find("Connection");
      if (cl == nullptr || !parse_u32(*cl, &length) || length > limits::kMaxHttpHead ||
          (connection != nullptr && iequals(*connection, "close"))) {
        fail(Status(Code::kNotAuthorized, "the NTLM challenge did not keep the connection open",
                    static_cast<std::uint32_t>(status)),
             std::to_string(status) + " " + resp.reason);
        return 0;
      }
      skip_left_ = length;
      state_ = State::kSkipBody;
      if (skip_left_ == 0) {
        send_request(now);
      }
      return consumed;
    }
    if (taken.ok()) {
      start_phase(phase_, now);
      return consumed;
    }
    fail(taken, std::to_string(status) + " " + resp.reason);
    return 0;
  }
  if (status == 407) {
    fail(Status(Code::kNotAuthorized, "a proxy we were not told of requires authentication", 407),
         "407 " + resp.reason);
    return 0;
  }
  if (status == 300 || status == 301 || status == 302 || status == 303 || status == 307 ||
      status == 308) {
    const std::string* location = resp.headers.find("Location");
    if (location == nullptr) {
      fail(Status(Code::kPeerViolation, "redirect without Location",
                  static_cast<std::uint32_t>(status)));
      return 0;
    }
    if (++redirects_ > limits::kMaxRedirects) {
      fail(Status(Code::kLimitExceeded, "too many redirects", static_cast<std::uint32_t>(status)));
      return 0;
    }
    Result<Url> next = resolve_location(current_url_, *location);
    if (!next.ok()) {
      fail(next.status());
      return 0;
    }
    follow(std::move(*next), now);
    return state_ == State::kFailed ? 0 : consumed;
  }
  if (status == 404) {
    fail(Status(Code::kNotFound, "server says not found", 404), "404 " + resp.reason);
    return 0;
  }
  if (status == 503) {
    fail(Status(Code::kRefused, "server is busy (too many clients)", 503), "503 " + resp.reason);
    return 0;
  }
  if (status == 403) {
    fail(Status(Code::kNotAuthorized, "server denied access", 403), "403 " + resp.reason);
    return 0;
  }
  if (status < 200 || status > 299) {
    fail(Status(Code::kRefused, "server refused the request", static_cast<std::uint32_t>(status)),
         std::to_string(status) + " " + resp.reason);
    return 0;
  }
  std::vector<PragmaToken> pragmas = parse_pragmas(resp.headers);
  if (const std::string* id = find_pragma(pragmas, "client-id")) {
    std::uint32_t v = 0;
    if (parse_u32(*id, &v)) {
      client_id_ = v;
      have_client_id_ = true;
    }
  }
  if (const std::string* f = find_pragma(pragmas, "features")) {
    features_known_ = true;
    features_broadcast_ = has_feature(*f, "broadcast");
    features_seekable_ = has_feature(*f, "seekable");
    features_playlist_ = has_feature(*f, "playlist");
  }
  body_length_.reset();
  if (const std::string* len = resp.headers.find("Content-Length")) {
    std::uint32_t v = 0;
    if (parse_u32(*len, &v)) {
      body_length_ = v;
    }
  }
  redirector_body_.clear();
  frames_in_body_ = false;
  frame_ctx_ = FrameContext();
  state_ = State::kBody;
  return consumed;
}

void MmshClientSession::follow(Url next, Instant now) {
  if (next.scheme != "mmsh" && next.scheme != "mms" && next.scheme != "http") {
    // Another transport family (mmst://, rtsp://...): the rollover follows it.
    close_channel();
    state_ = State::kFailed;
    events_.push_back(session::redirected_elsewhere(next, current_url_));
    return;
  }
  // Credentials from the URL follow a redirect only to the same host.
  if (next.user.empty() && next.host == current_url_.host) {
    next.user = current_url_.user;
    next.password = current_url_.password;
  }
  auth_.reset();
  current_url_ = std::move(next);
  session::Event e;
  e.kind = session::Event::Kind::kRedirect;
  e.url = current_url_.redacted();
  events_.push_back(std::move(e));
  gate_.forget();
  have_client_id_ = false;
  start_phase(Phase::kDescribe, now);
}

// A describe answered with a redirector file instead of $H (a web server's
// .asx / [Reference] file behind an http:// or mmsh:// URL): read it whole
// (Content-Length or the connection's end, bounded) and follow its first ref.
std::size_t MmshClientSession::handle_redirector(ByteView bytes, Instant now) {
  std::size_t take = bytes.size();
  if (body_length_ && *body_length_ - redirector_body_.size() < take) {
    take = static_cast<std::size_t>(*body_length_ - redirector_body_.size());
  }
  if (redirector_body_.size() + take > kMaxRedirectorBytes) {
    fail(
        Status(Code::kLimitExceeded, "server answered with a redirector file larger than 256 KiB"));
    return 0;
  }
  redirector_body_.insert(redirector_body_.end(), bytes.begin(),
                          bytes.begin() + static_cast<std::ptrdiff_t>(take));
  if (body_length_ && redirector_body_.size() >= *body_length_) {
    follow_redirector(now);
  }
  return bytes.size();  // anything after the body is not ours to read
}

void MmshClientSession::follow_redirector(Instant now) {
  Url base = current_url_;
  base.scheme = "http";
  Result<Redirector> r = parse_redirector(ByteView(redirector_body_), base.to_string(false));
  redirector_body_.clear();
  if (!r.ok()) {
    fail(Status(r.status().code() == Code::kUnsupported ? Code::kMalformed : r.status().code(),
                r.status().code() == Code::kUnsupported
                    ? "server answered with neither MMSH frames nor a redirector file"
                    : r.status().what()));
    return;
  }
  if (++redirects_ > limits::kMaxRedirects) {
    fail(Status(Code::kLimitExceeded, "too many redirects"));
    return;
  }
  // The first ref this client can speak; an ASX's http:// refs are MMSH.
  for (const RedirectorEntry& entry : r->entries) {
    for (const std::string& ref : entry.refs) {
      Result<Url> next = parse_url(ref);
      if (next.ok()) {
        MMS_LOG(LogLevel::kInfo, kLog, "%s: %s file, following %s", current_url_.redacted().c_str(),
                to_string(r->format), next->redacted().c_str());
        close_channel();
        if (next->scheme == "mms") {
          // mms:// in a redirector means the whole walk (RTSP first), as
          // Windows Media Player reads it: the rollover takes it.
          state_ = State::kFailed;
          events_.push_back(session::redirected_elsewhere(*next, current_url_));
          return;
        }
        follow(std::move(*next), now);
        return;
      }
    }
  }
  fail(Status(Code::kUnsupported, "the redirector file has no ref this client can play"));
}

std::size_t MmshClientSession::handle_body(ByteView bytes, Instant now) {
  if (phase_ == Phase::kDescribe && !frames_in_body_ && !bytes.empty() && bytes[0] != '$') {
    state_ = State::kRedirector;
    return handle_redirector(bytes, now);
  }
  std::size_t consumed = 0;
  while (consumed < bytes.size()) {
    Frame frame;
    Status error;
    Decode d = decode_frame(bytes.subview(consumed), &frame, &error, &frame_ctx_);
    if (d == Decode::kNeedMore) {
      break;
    }
    if (d == Decode::kError) {
      fail(Status(Code::kMalformed, "server sent a malformed MMSH frame", error.detail()));
      return 0;
    }
    consumed += frame.wire_size;
    frames_in_body_ = true;
    switch (frame.type) {
      case kFrameHeader:
        handle_header_frame(frame, now);
        break;
      case kFrameData: {
        if (phase_ != Phase::kPlay || !header_seen_in_body_ || state_ != State::kBody) {
          if (phase_ == Phase::kDescribe) {
            break;  // some servers send data after the describe header; ignore it
          }
          fail(Status(Code::kPeerViolation, "data frame before the ASF header"));
          return 0;
        }
        if (frame.payload.size() > gate_.info().packet_size) {
          fail(Status(Code::kMalformed, "data packet larger than the ASF packet size",
                      static_cast<std::uint32_t>(frame.payload.size())));
          return 0;
        }
        session::Event e;
        e.kind = session::Event::Kind::kPacket;
        e.payload = frame.payload;
        e.packet_number = frame.location_id;
        e.discont = discont_pending_;
        discont_pending_ = false;
        events_.push_back(std::move(e));
        break;
      }
      case kFrameEnd:
        if ((frame.reason & kHresultErrorBit) != 0) {
          fail(Status(Code::kPeerViolation, "server ended the stream with an error", frame.reason));
          return 0;
        }
        if (phase_ == Phase::kPlay && frame.reason == 1) {
          state_ = State::kWaitChange;
          break;
        }
        if (phase_ == Phase::kPlay) {
          close_channel();
          state_ = State::kDone;
          session::Event e;
          e.kind = session::Event::Kind::kEos;
          events_.push_back(std::move(e));
          return consumed;
        }
        break;
      case kFrameChange:
        if ((frame.reason & kHresultErrorBit) != 0 && frame.reason != 0x400D14BEu) {
          fail(Status(Code::kPeerViolation, "stream change with an error", frame.reason));
          return 0;
        }
        after_change_ = true;
        header_seen_in_body_ = false;
        assembler_.reset();
        meta_assembler_.reset();
        metadata_ = nullptr;
        state_ = State::kBody;
        break;
      case kFrameMeta:
        handle_meta_frame(frame);
        break;
      case kFramePacketPair:
        on_packet_pair(frame, bytes.size() - consumed, now);
        break;
      case kFrameTest:
        break;
      default:
        MMS_LOG(LogLevel::kWarning, kLog, "skipping unknown frame '%c' (%u bytes)",
                frame.type >= 0x20 && frame.type < 0x7f ? frame.type : '?', frame.length);
        break;
    }
    if (state_ == State::kFailed || state_ == State::kDone || state_ == State::kConnecting) {
      return consumed;
    }
  }
  return consumed;
}

// The three $P frames of a Describe (MS-WMSP 2.2.3.7): what arrived after the
// first, over the time it took, estimates the link's bandwidth. `already_here`:
// the bytes after this frame in the same read.
void MmshClientSession::on_packet_pair(const Frame& frame, std::size_t already_here, Instant now) {
  if (phase_ != Phase::kDescribe || probed_) {
    return;  // not asked for: nothing to measure
  }
  if (frame_ctx_.packet_pairs_seen == 1) {
    probe_.first(now, already_here);
    return;
  }
  probe_.later(frame.wire_size);
  if (frame_ctx_.packet_pairs_seen < 3) {
    return;
  }
  probed_ = true;
  const std::optional<std::uint64_t> bps = probe_.finish(now, already_here);
  gate_.set_measured_bandwidth(bps.value_or(0));
  MMS_LOG(LogLevel::kInfo, kLog, "packet pair: %s",
          bps ? (std::to_string(*bps / 1000) + " kbit/s").c_str() : "too fast to measure");
  session::Event e;
  e.kind = session::Event::Kind::kBandwidth;
  e.bandwidth_bps = bps.value_or(0);
  events_.push_back(std::move(e));
}

void MmshClientSession::handle_header_frame(const Frame& frame, Instant now) {
  Result<bool> r = assembler_.add(frame);
  if (!r.ok()) {
    fail(r.status());
    return;
  }
  if (*r) {
    handle_complete_header(now);
  }
}

void MmshClientSession::handle_meta_frame(const Frame& frame) {
  // Metadata is informational: a bad $M is logged and dropped, the stream goes on.
  Result<bool> r = meta_assembler_.add(frame);
  if (!r.ok() || !*r) {
    if (!r.ok()) {
      MMS_LOG(LogLevel::kWarning, kLog, "dropping $M metadata: %s", r.status().what());
    }
    return;
  }
  const std::vector<std::uint8_t>& raw = meta_assembler_.header();
  Result<session::EntryMetadata> m = session::parse_wmsp_metadata(ByteView(raw));
  if (!m.ok()) {
    MMS_LOG(LogLevel::kWarning, kLog, "dropping $M metadata (%zu bytes): %s", raw.size(),
            m.status().what());
    metadata_ = nullptr;
  } else {
    MMS_LOG(LogLevel::kDebug, kLog, "$M: playlist-gen-id=%u broadcast-id=%u features=\"%.80s\"",
            m->playlist_gen_id, m->broadcast_id, m->features.c_str());
    metadata_ = std::make_shared<const session::EntryMetadata>(std::move(*m));
  }
  meta_assembler_.reset();
}

void MmshClientSession::handle_complete_header(Instant now) {
  header_seen_in_body_ = true;
  const bool new_entry = after_change_;
  after_change_ = false;
  Result<asf::HeaderGate::Verdict> v = gate_.offer(ByteView(assembler_.header()), new_entry);
  if (!v.ok()) {
    fail(v.status());
    return;
  }
  if (v->kind == asf::HeaderGate::Kind::kSameRepaired) {
    // The metadata stays for the next header event.
    assembler_.reset();
    if (phase_ == Phase::kDescribe) {
      start_phase(Phase::kPlay, now);
    }
    return;
  }
  if (v->fresh()) {
    session::Event e;
    e.kind = session::Event::Kind::kHeader;
    e.header = gate_.header();
    e.info = std::make_shared<const asf::HeaderInfo>(gate_.info());
    e.changed = v->changed;
    e.playlist = features_playlist_ || (metadata_ && has_feature(metadata_->features, "playlist"));
    e.metadata = std::move(metadata_);
    events_.push_back(std::move(e));
  }
  metadata_ = nullptr;
  assembler_.reset();
  if (phase_ == Phase::kDescribe) {
    // The describe is done; play from the requested position on a new connection.
    start_phase(Phase::kPlay, now);
  }
}

void MmshClientSession::on_eof(session::ChannelId ch, Instant now) {
  if (ch != channel_ || state_ == State::kFailed || state_ == State::kDone) {
    return;
  }
  channel_ = 0;
  if (state_ == State::kRedirector) {
    follow_redirector(now);  // the file ended with the connection
  } else if (state_ == State::kAwaitHead) {
    fail(Status(Code::kConnectionLost, "server closed the connection before answering"));
  } else if (phase_ == Phase::kDescribe) {
    fail(Status(Code::kConnectionLost, "server closed the connection before the ASF header"));
  } else {
    fail(Status(Code::kConnectionLost, "server closed the connection mid-stream"));
  }
}

void MmshClientSession::on_timeout(Instant now) {
  std::optional<Instant> d = next_deadline();
  if (d && now >= *d) {
    fail(Status(Code::kTimedOut, state_ == State::kConnecting ? "connection timed out"
                                                              : "no data from the server in time"));
  }
}

std::optional<Instant> MmshClientSession::next_deadline() const {
  if (throttled_ || config_.timeout <= 0) {
    return std::nullopt;
  }
  switch (state_) {
    case State::kConnecting:
    case State::kAwaitHead:
    case State::kBody:
    case State::kRedirector:
      return last_activity_ + config_.timeout;
    case State::kWaitChange:
      // A server-side playlist may pause between entries; allow a longer gap.
      return last_activity_ + config_.timeout * 4;
    default:
      return std::nullopt;
  }
}

void MmshClientSession::on_throttle(bool paused, Instant now) {
  throttled_ = paused;
  if (!paused) {
    touch(now);
  }
}

bool MmshClientSession::seekable() const {
  if (!gate_.known()) {
    return false;
  }
  if (features_known_ && (features_broadcast_ || !features_seekable_)) {
    return false;
  }
  return gate_.info().seekable();
}

void MmshClientSession::fail(Status status, std::string detail) {
  if (state_ == State::kFailed) {
    return;
  }
  MMS_LOG(LogLevel::kInfo, kLog, "failed: %s (%s, detail %u)", status.what(),
          to_string(status.code()), status.detail());
  close_channel();
  state_ = State::kFailed;
  session::Event e;
  e.kind = session::Event::Kind::kFailed;
  e.status = status;
  e.detail = std::move(detail);
  events_.push_back(std::move(e));
}

bool MmshClientSession::next_io_action(session::IoAction* out) {
  return session::pop_front(&actions_, out);
}

bool MmshClientSession::next_event(session::Event* out) {
  return session::pop_front(&events_, out);
}

}  // namespace mms::mmsh
