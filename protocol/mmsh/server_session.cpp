// MMSH server session. See server_session.h for the contract and
// docs/protocols/wmsp-reference.md (§2 request types, §4 session, §6 framing, §8 seeking,
// §9 playlists) for the protocol.
#include "protocol/mmsh/server_session.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

#include "protocol/asf/packet.h"
#include "protocol/core/limits.h"
#include "protocol/core/log.h"
#include "protocol/core/text.h"
#include "protocol/mmsh/framing.h"
#include "protocol/session/metadata.h"

namespace mms::mmsh {

using server::Content;
using server::content_bps;
using server::PacketMeta;

namespace {

constexpr const char* kLog = "mmsh-server";
constexpr const char* kServerToken = "Cougar/9.01.01.3814";

// The major version of "NSPlayer/9.0.0.2980 ..." (0 when there is none).
std::uint32_t player_major(std::string_view ua) {
  const std::size_t slash = ua.find('/');
  if (slash == std::string_view::npos) {
    return 0;
  }
  ua.remove_prefix(slash + 1);
  std::size_t digits = 0;
  while (digits < ua.size() && digits < 9 && ua[digits] >= '0' && ua[digits] <= '9') {
    ++digits;
  }
  std::uint32_t major = 0;
  return parse_u32(ua.substr(0, digits), &major) ? major : 0;
}
constexpr const char* kDescribeType = "application/vnd.ms.wms-hdr.asfv1";
constexpr const char* kPlayType = "application/x-mms-framed";
constexpr std::uint32_t kIgnore = 0xFFFFFFFFu;  // "ignore" value of packet-num / stream-offset
// Fault huge-length: what the ASF Header Object and Content-Length claim.
constexpr std::uint64_t kHugeLength = 2147483648ull;
// Fault bad-frame: sync byte that is not 0x24 / 0xA4.
constexpr std::uint8_t kBadSync = 0x42;

// Leading decimal digits of `s` as a u32 ("0Connection: Close" -> 0, FFmpeg's glued line).
std::optional<std::uint32_t> leading_u32(std::string_view s) {
  std::size_t n = 0;
  while (n < s.size() && n < 10 && s[n] >= '0' && s[n] <= '9') {
    ++n;
  }
  std::uint32_t v = 0;
  if (n == 0 || !parse_u32(s.substr(0, n), &v)) {
    return std::nullopt;
  }
  return v;
}

std::optional<std::uint32_t> pragma_u32(const std::vector<PragmaToken>& pragmas,
                                        std::string_view name) {
  const std::string* v = find_pragma(pragmas, name);
  if (v == nullptr) {
    return std::nullopt;
  }
  return leading_u32(*v);
}

// Path of a request target: "/a/b?x" -> "/a/b"; proxy form "http://h:p/a" -> "/a".
std::string_view target_path(std::string_view target) {
  const std::size_t scheme = target.find("://");
  if (scheme != std::string_view::npos && target.find('/') > scheme) {
    const std::size_t slash = target.find('/', scheme + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  const std::size_t q = target.find_first_of("?#");
  if (q != std::string_view::npos) {
    target = target.substr(0, q);
  }
  return target;
}

// The framed cache's frames: LocationId = i, AFFlags = i mod 256.
void encode_cached_frame(std::uint32_t i, ByteView payload, std::vector<std::uint8_t>* out) {
  encode_data_frame(kFrameData, i, 0, static_cast<std::uint8_t>(i & 0xFFu), payload, out);
}

void append_str(std::vector<std::uint8_t>* out, std::string_view s) {
  const ByteView v = ByteView::of(s);
  out->insert(out->end(), v.begin(), v.end());
}

}  // namespace

// ---------------------------------------------------------------------------
// Fault names

const char* to_string(Fault fault) {
  switch (fault) {
    case Fault::kNone:
      return "none";
    case Fault::kGarbage:
      return "garbage";
    case Fault::kTruncate:
      return "truncate";
    case Fault::kHugeLength:
      return "huge-length";
    case Fault::kStallHeader:
      return "stall-header";
    case Fault::kBadFrame:
      return "bad-frame";
  }
  return "?";
}

std::optional<Fault> fault_from_string(std::string_view name) {
  for (Fault f : {Fault::kNone, Fault::kGarbage, Fault::kTruncate, Fault::kHugeLength,
                  Fault::kStallHeader, Fault::kBadFrame}) {
    if (name == to_string(f)) {
      return f;
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// ServerSession: input

ServerSession::ServerSession(const ServerConfig* config, std::uint32_t client_id, Instant now)
    : config_(config),
      client_id_(client_id),
      head_deadline_(now + kRequestHeadTimeout),
      now_(now),
      progress_at_(now) {
  char nonce[20];
  std::snprintf(nonce, sizeof nonce, "%08x%08x", client_id, client_id * 2654435761u ^ 0x5EEDu);
  auth_ = auth::ServerAuth(&config->auth, nonce, std::to_string(client_id), kLog);
}

Result<std::size_t> ServerSession::on_bytes(ByteView in, Instant now) {
  now_ = now;
  progress_at_ = now;  // the client is there; a response queued now starts its idle bound
  std::size_t body = 0;
  if (body_left_ > 0) {
    // The rest of a POST body (Log XML) on a kept-alive connection: read and discarded.
    body = std::min(body_left_, in.size());
    body_left_ -= body;
    in = in.subview(body);
    if (body_left_ > 0 || in.empty()) {
      return body;
    }
  }
  if (state_ != State::kReadingHead) {
    if (keep_alive_ && !peer_gone_) {
      return body;  // a pipelined request: left to the caller until this response is written
    }
    return body + in.size();  // request complete: later bytes (POST bodies, junk) are discarded
  }
  HttpRequest req;
  std::size_t consumed = 0;
  Status error;
  const Decode d = parse_request_head(in, &req, &consumed, &error);
  if (d == Decode::kNeedMore) {
    if (in.size() > limits::kMaxHttpHead) {
      respond_simple(431, "Request Header Fields Too Large");
      return Status(Code::kLimitExceeded, "mmsh-server: request head too large");
    }
    return body;
  }
  if (d == Decode::kError) {
    MMS_LOG(LogLevel::kWarning, kLog, "client-id=%u: bad request: %s", client_id_, error.what());
    keep_alive_ = false;
    respond_simple(400, "Bad Request");
    return error;
  }
  ++requests_;
  keep_alive_ = wants_keep_alive(req);
  std::uint64_t content_length = 0;
  if (const std::string* cl = req.headers.find("Content-Length")) {
    std::uint32_t n = 0;
    if (!parse_u32(*cl, &n)) {
      keep_alive_ = false;
      respond_simple(400, "Bad Request");
      return Status(Code::kMalformed, "mmsh-server: bad Content-Length");
    }
    content_length = n;
  }
  if (!keep_alive_) {
    handle_request(req, in.subview(consumed), now);
    return body + in.size();  // one request per connection: the rest is discarded
  }
  if (content_length > kMaxRequestBody) {
    keep_alive_ = false;
    respond_simple(413, "Payload Too Large");
    return Status(Code::kLimitExceeded, "mmsh-server: request body too large");
  }
  // Keep-alive: consume exactly this request (head and the body present so far);
  // what follows is the next request.
  const std::size_t now_body =
      static_cast<std::size_t>(std::min<std::uint64_t>(content_length, in.size() - consumed));
  body_left_ = static_cast<std::size_t>(content_length) - now_body;
  handle_request(req, in.subview(consumed, now_body), now);
  return body + consumed + now_body;
}

bool ServerSession::wants_keep_alive(const HttpRequest& req) const {
  const std::string* connection = req.headers.find("Connection");
  if (connection != nullptr && iequals(*connection, "close")) {
    return false;
  }
  if (connection != nullptr && iequals(*connection, "keep-alive")) {
    return true;
  }
  return req.version_minor >= 1;  // HTTP/1.1 keeps the connection unless told otherwise
}

void ServerSession::next_request(Instant now) {
  // The response is written: the connection waits for the client's next request
  // (as long as the advertised session timeout, MS-WMSP 3.2.2).
  state_ = State::kReadingHead;
  head_deadline_ = now + config_->idle_timeout;
  content_.reset();
  framed_ = nullptr;
  keep_.clear();
  start_packet_ = -1;
  d_count_ = 0;
  accel_ = FastStart();
  paced_ = false;
  keep_alive_ = false;
}

void ServerSession::on_eof(Instant /*now*/) {
  peer_gone_ = true;
  state_ = State::kDone;
  drop_output();
}

void ServerSession::on_timeout(Instant now) {
  if (state_ == State::kReadingHead && now >= head_deadline_) {
    if (requests_ > 0) {
      // An idle kept-alive connection: the session times out (MS-WMSP 3.2.6.2).
      MMS_LOG(LogLevel::kDebug, kLog, "client-id=%u: no further request: closing", client_id_);
      state_ = State::kDone;
      return;
    }
    MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: request head timed out", client_id_);
    respond_simple(408, "Request Timeout");
    progress_at_ = now;
    return;
  }
  if (output_pending() && !peer_gone_ && now >= progress_at_ + config_->idle_timeout) {
    MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: nothing read for %lld ms: closing", client_id_,
            static_cast<long long>(config_->idle_timeout / kMillisecond));
    state_ = State::kDone;
    drop_output();
  }
}

void ServerSession::drop_output() {
  pending_.clear();
  pending_pos_ = 0;
  zc_pos_ = zc_end_ = 0;
}

std::optional<Instant> ServerSession::next_deadline() const {
  if (state_ == State::kReadingHead) {
    return head_deadline_;
  }
  if (output_pending() && !peer_gone_) {
    return progress_at_ + config_->idle_timeout;  // the caller writes when it can; this bounds it
  }
  if (state_ == State::kStreaming && paced_ && pending_pos_ >= pending_.size() &&
      zc_pos_ >= zc_end_ && content_ && next_packet_ < content_->packet_count()) {
    return due_time(next_packet_) + (-kPacingSlack);
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// ServerSession: requests

std::string ServerSession::response_head(int status, const char* reason, const char* content_type,
                                         std::optional<std::uint64_t> content_length, bool live,
                                         const std::vector<HttpHeader>& extra) const {
  HttpResponse r;
  r.version_minor = 0;
  r.status = status;
  r.reason = reason;
  r.headers.add("Server", kServerToken);
  if (content_type != nullptr) {
    r.headers.add("Content-Type", content_type);
  }
  if (content_length) {
    r.headers.add("Content-Length", std::to_string(*content_length));
  }
  std::string pragma = "no-cache,client-id=" + std::to_string(client_id_);
  if (status == 200) {
    pragma += live        ? ",features=\"broadcast\""
              : playlist_ ? ",features=\"seekable,playlist\""
                          : ",features=\"seekable\"";
  }
  pragma += ",timeout=" + std::to_string(config_->idle_timeout / kMillisecond);
  r.headers.add("Pragma", pragma);
  r.headers.add("Cache-Control", "no-cache");
  for (const HttpHeader& h : extra) {
    r.headers.add(h.name, h.value);
  }
  r.headers.add("Connection", keep_alive_ ? "Keep-Alive" : "Close");
  return write_response(r);
}

void ServerSession::respond_simple(int status, const char* reason,
                                   const std::vector<HttpHeader>& extra) {
  response_status_ = status;
  pending_.clear();
  pending_pos_ = 0;
  append_str(&pending_, response_head(status, reason, nullptr, std::uint64_t{0}, false, extra));
  produced_ += pending_.size();
  state_ = State::kDone;
}

void ServerSession::handle_request(const HttpRequest& req, ByteView body, Instant now) {
  if (config_->fault == Fault::kGarbage) {
    keep_alive_ = false;
    static constexpr char kJunk[] =
        "\x00\x01\x02\xff garbage: this is not an HTTP response \xfe\xfd\r\n\x24\x00";
    pending_.clear();
    for (int i = 0; i < 8; ++i) {
      pending_.insert(pending_.end(), kJunk, kJunk + sizeof kJunk - 1);
    }
    produced_ += pending_.size();
    state_ = State::kDone;
    return;
  }
  request_path_ = std::string(target_path(req.target));
  if (busy_) {
    keep_alive_ = false;
    MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: %.200s -> 503 (server full)", client_id_,
            req.target.c_str());
    respond_simple(503, "Service Unavailable", {});
    return;
  }
  send_metadata_ = false;
  const std::string* ua = req.headers.find("User-Agent");
  if (ua == nullptr) {
    MMS_LOG(LogLevel::kWarning, kLog, "client-id=%u: request without User-Agent (served anyway)",
            client_id_);
  } else {
    const std::string_view token = std::string_view(*ua).substr(0, ua->find('/'));
    send_metadata_ = iequals(token, "NSPlayer") && player_major(*ua) >= 9;
    if (!iequals(token, "NSPlayer") && !iequals(token, "NSServer") &&
        !iequals(token, "WMCacheProxy")) {
      MMS_LOG(LogLevel::kWarning, kLog,
              "client-id=%u: User-Agent '%.80s' is not a WMSP player (served anyway)", client_id_,
              ua->c_str());
    }
  }
  if (!auth_.check(req.method, req.headers.find("Authorization"))) {
    MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: 401 (credentials missing or wrong)", client_id_);
    std::vector<HttpHeader> challenges;
    for (std::string& v : auth_.challenges()) {
      challenges.push_back(HttpHeader{"WWW-Authenticate", std::move(v)});
    }
    respond_simple(401, "Unauthorized", challenges);
    return;
  }
  const std::vector<PragmaToken> pragmas = parse_pragmas(req.headers);
  if (req.method == "GET") {
    handle_get(req, pragmas, now);
    return;
  }
  if (req.method == "POST") {
    handle_post(req, pragmas, body);
    return;
  }
  if (req.method == "OPTIONS") {
    // Pipelined KeepAlive (MS-WMSP 2.2.2.3): any request refreshes the session.
    MMS_LOG(LogLevel::kDebug, kLog, "client-id=%u: KeepAlive (OPTIONS)", client_id_);
    respond_simple(200, "OK", {HttpHeader{"Allow", "GET, POST, OPTIONS"}});
    return;
  }
  respond_simple(405, "Method Not Allowed", {HttpHeader{"Allow", "GET, POST, OPTIONS"}});
}

void ServerSession::handle_post(const HttpRequest& req, const std::vector<PragmaToken>& pragmas,
                                ByteView body) {
  // Non-pipelined Log, SelectStream and KeepAlive (MS-WMSP 2.2.2.4, 2.2.2.8, 2.2.2.3).
  const std::string* log_line = find_pragma(pragmas, "log-line");
  const std::string* ct = req.headers.find("Content-Type");
  if (log_line != nullptr || (ct != nullptr && ct->find("LogStats") != std::string::npos)) {
    // Logs are never refused, however malformed (MS-WMSP 3.2.5.11).
    if (log_line != nullptr) {
      MMS_LOG(LogLevel::kDebug, kLog, "client-id=%u: Log %s: %.400s", client_id_,
              req.target.c_str(), log_line->c_str());
    } else {
      const std::string_view text = body.as_string_view();
      MMS_LOG(LogLevel::kDebug, kLog, "client-id=%u: Log %s (%zu bytes of %s): %.*s", client_id_,
              req.target.c_str(), text.size() + body_left_, ct->c_str(),
              static_cast<int>(std::min<std::size_t>(text.size(), 400)), text.data());
    }
    respond_simple(204, "No Content", {});
    return;
  }
  const std::string* entry = find_pragma(pragmas, "stream-switch-entry");
  if (entry != nullptr && find_pragma(pragmas, "xKeepAliveInPause") == nullptr) {
    // SelectStream: applies to the next Play on this connection that names no streams.
    if (!parse_stream_switch(*entry).ok()) {
      MMS_LOG(LogLevel::kWarning, kLog, "client-id=%u: SelectStream: unparsable entry '%.100s'",
              client_id_, entry->c_str());
      respond_simple(400, "Bad Request", {});
      return;
    }
    selected_entry_ = *entry;
    MMS_LOG(LogLevel::kDebug, kLog, "client-id=%u: SelectStream '%.200s' for the next Play",
            client_id_, entry->c_str());
    respond_simple(200, "OK", {});
    return;
  }
  if (find_pragma(pragmas, "xKeepAliveInPause") != nullptr) {
    MMS_LOG(LogLevel::kDebug, kLog, "client-id=%u: KeepAlive", client_id_);
  } else {
    MMS_LOG(LogLevel::kDebug, kLog, "client-id=%u: POST %s acknowledged", client_id_,
            req.target.c_str());
  }
  respond_simple(200, "OK", {});
}

std::vector<std::uint8_t> ServerSession::header_payload() const {
  std::vector<std::uint8_t> h = content_->header().to_vector();
  if (config_->fault == Fault::kHugeLength && h.size() >= 24) {
    for (int i = 0; i < 8; ++i) {
      h[16 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(kHugeLength >> (8 * i));
    }
  }
  return h;
}

void ServerSession::append_header_frames(std::vector<std::uint8_t>* out) {
  if (send_metadata_) {
    session::EntryMetadata m;
    m.playlist_gen_id = ++playlist_gen_id_;
    m.broadcast_id = content_->live() ? 1 : 0;
    m.features = content_->live() ? "broadcast" : playlist_ ? "seekable,playlist" : "seekable";
    m.descriptions.push_back(session::describe_entry(
        content_->info().tags,
        content_->live() ? std::nullopt : std::optional<std::uint32_t>(content_->duration_ms())));
    encode_header_frames(kFrameMeta, ByteView(session::encode_wmsp_metadata(m)), 0, out);
  }
  encode_header_frames(kFrameHeader, ByteView(header_payload()), 0, out);
}

void ServerSession::handle_get(const HttpRequest& req, const std::vector<PragmaToken>& pragmas,
                               Instant now) {
  if (find_pragma(pragmas, "xplaynextentry") != nullptr ||
      find_pragma(pragmas, "pipeline-request") != nullptr) {
    respond_simple(400, "Bad Request", {});
    return;
  }
  if (config_->authorize && !config_->authorize(path_and_query(req.target))) {
    MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: %.200s -> 403 (access denied)", client_id_,
            req.target.c_str());
    respond_simple(403, "Forbidden", {});
    return;
  }
  const std::string_view path = target_path(req.target);
  std::string_view name = path;
  while (!name.empty() && name.front() == '/') {
    name.remove_prefix(1);
  }
  auto redirect = config_->redirects.find(std::string(name));
  if (redirect != config_->redirects.end()) {
    MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: %s -> 302 %s", client_id_, req.target.c_str(),
            redirect->second.c_str());
    respond_simple(302, "Found", {HttpHeader{"Location", redirect->second}});
    return;
  }
  if (config_->content == nullptr) {
    respond_simple(404, "Not Found", {});
    return;
  }
  entries_.clear();
  next_entry_ = 0;
  std::string entry_path;
  auto playlist = config_->playlists.find(std::string(name));
  playlist_ = playlist != config_->playlists.end() && !playlist->second.empty();
  if (playlist_) {
    // Every entry is opened now: a missing one is "not found" for the whole list.
    for (std::size_t i = 1; i < playlist->second.size(); ++i) {
      auto entry = config_->content->open("/" + playlist->second[i]);
      if (!entry.ok()) {
        MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: %s entry %s -> 404", client_id_,
                req.target.c_str(), playlist->second[i].c_str());
        respond_simple(404, "Not Found", {});
        return;
      }
      entries_.push_back(std::move(*entry));
    }
    entry_path = "/" + playlist->second.front();
  }
  auto content_or = config_->content->open(entry_path.empty() ? path : entry_path);
  if (!content_or.ok()) {
    if (content_or.status().code() == Code::kNotFound) {
      MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: %s -> 404", client_id_, req.target.c_str());
      respond_simple(404, "Not Found", {});
    } else {
      MMS_LOG(LogLevel::kWarning, kLog, "client-id=%u: %s -> 500 (%s)", client_id_,
              req.target.c_str(), content_or.status().what());
      respond_simple(500, "Internal Server Error", {});
    }
    return;
  }
  content_ = std::move(*content_or);

  const std::string* play = find_pragma(pragmas, "xplaystrm");
  if (play != nullptr && leading_u32(*play).value_or(0) == 1) {
    start_play(req, pragmas, now);
    return;
  }

  // Describe: 200 + Content-Length + [$P $P $P] $H, then close (MS-WMSP 3.2.5.4).
  const bool packet_pair =
      config_->packet_pair && pragma_u32(pragmas, "packet-pair-experiment").value_or(0) == 1;
  std::vector<std::uint8_t> body;
  append_header_frames(&body);
  std::vector<std::uint8_t> pairs;
  if (packet_pair) {
    encode_packet_pair_frames(0, &pairs);  // for the length; the same for any head size
  }
  const std::uint64_t length =
      config_->fault == Fault::kHugeLength ? kHugeLength : pairs.size() + body.size();
  std::vector<HttpHeader> extra;
  if (packet_pair) {
    extra.push_back(HttpHeader{"Pragma", "packet-pair-experiment=1"});
  }
  response_status_ = 200;
  pending_.clear();
  append_str(&pending_, response_head(200, "OK", kDescribeType, length, content_->live(), extra));
  if (packet_pair) {
    // The Reason of each $P is the head's size (at most 504).
    pairs.clear();
    encode_packet_pair_frames(pending_.size(), &pairs);
    body.insert(body.begin(), pairs.begin(), pairs.end());
  }
  if (config_->fault == Fault::kStallHeader) {
    keep_alive_ = false;
    pending_.insert(pending_.end(), body.begin(),
                    body.begin() + static_cast<std::ptrdiff_t>(body.size() / 2));
    state_ = State::kStalled;
  } else {
    pending_.insert(pending_.end(), body.begin(), body.end());
    state_ = State::kDone;
  }
  produced_ += pending_.size();
  MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: Describe %s (%zu header bytes)", client_id_,
          req.target.c_str(), content_->header().size());
}

std::uint32_t ServerSession::back_to_key(std::uint32_t packet) const {
  return content_->key_at_or_before(packet);
}

std::uint32_t ServerSession::choose_start(const std::vector<PragmaToken>& pragmas,
                                          bool* beyond_end) const {
  *beyond_end = false;
  const std::uint32_t count = content_->packet_count();
  if (count == 0) {
    *beyond_end = true;
    return 0;
  }
  // Precedence of MS-WMSP 3.2.5.6: stream-time, packet-num, stream-offset.
  const std::optional<std::uint32_t> stream_time = pragma_u32(pragmas, "stream-time");
  if (stream_time && *stream_time != 0 && *stream_time != kIgnore) {
    if (*stream_time >= content_->duration_ms()) {
      *beyond_end = true;
      return count;
    }
    // stream-time is presentation time without preroll (docs/protocols/wmsp-reference.md §8). Start
    // at the last key-frame packet presented at or before it: send times cannot be used directly,
    // since muxers disagree on whether they include the preroll (FFmpeg's do not).
    const std::uint64_t target = std::uint64_t{*stream_time} + content_->info().preroll_ms;
    std::optional<std::uint32_t> key;
    for (std::uint32_t i = 0; i < count; ++i) {
      const PacketMeta& m = content_->meta(i);
      if (m.key && m.presentation_ms != PacketMeta::kNoTime && m.presentation_ms <= target) {
        key = i;
      }
    }
    if (key) {
      MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: stream-time=%u -> key-frame packet %u",
              client_id_, *stream_time, *key);
      return *key;
    }
    // No presentation times: the last packet sent at or before the target.
    std::uint32_t lo = 0;
    for (std::uint32_t i = 0; i < count; ++i) {
      if (content_->meta(i).send_time_ms <= target) {
        lo = i;
      } else {
        break;
      }
    }
    const std::uint32_t start = back_to_key(lo);
    MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: stream-time=%u -> packet %u (key %u)", client_id_,
            *stream_time, lo, start);
    return start;
  }
  const std::optional<std::uint32_t> packet_num = pragma_u32(pragmas, "packet-num");
  if (packet_num && *packet_num != kIgnore) {
    if (*packet_num >= count) {
      *beyond_end = true;
      return count;
    }
    return *packet_num;
  }
  const std::string* offset = find_pragma(pragmas, "stream-offset");
  if (offset != nullptr) {
    const std::size_t colon = offset->find(':');
    std::uint32_t hi = 0;
    std::uint32_t lo = 0;
    if (colon != std::string::npos && parse_u32(std::string_view(*offset).substr(0, colon), &hi)) {
      const std::optional<std::uint32_t> lo_or =
          leading_u32(std::string_view(*offset).substr(colon + 1));
      lo = lo_or.value_or(kIgnore);
      if (!(hi == kIgnore && lo == kIgnore) && lo_or) {
        // Heuristic of docs/protocols/wmsp-reference.md §8: file offset of a packet start,
        // else n × packet_size.
        const std::uint64_t off = (std::uint64_t{hi} << 32) | lo;
        const std::uint64_t header = content_->layout().first_packet;
        const std::uint64_t ps = content_->packet_size();
        std::uint64_t packet = 0;
        if (off >= header && (off - header) % ps == 0) {
          packet = (off - header) / ps;
        } else {
          packet = off / ps;
        }
        if (packet >= count) {
          *beyond_end = true;
          return count;
        }
        MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: stream-offset=%llu -> packet %llu",
                client_id_, static_cast<unsigned long long>(off),
                static_cast<unsigned long long>(packet));
        return static_cast<std::uint32_t>(packet);
      }
    }
  }
  return 0;
}

void ServerSession::all_streams() {
  framed_ = content_->framed(!config_->keep_padding, &encode_cached_frame);
  keep_.clear();
}

void ServerSession::select_streams(const std::vector<PragmaToken>& pragmas) {
  const std::string* entry = find_pragma(pragmas, "stream-switch-entry");
  if (entry == nullptr) {
    entry = find_pragma(pragmas, "switch-stream-entry");  // spelling of the spec's examples
  }
  if (entry == nullptr && !selected_entry_.empty()) {
    entry = &selected_entry_;  // an earlier SelectStream on this connection
  }
  if (entry == nullptr) {
    MMS_LOG(LogLevel::kDebug, kLog, "client-id=%u: no stream-switch-entry: all streams",
            client_id_);
    all_streams();
    return;
  }
  auto entries_or = parse_stream_switch(*entry);
  if (!entries_or.ok()) {
    MMS_LOG(LogLevel::kWarning, kLog,
            "client-id=%u: unparsable stream-switch-entry '%.100s': all streams", client_id_,
            entry->c_str());
    all_streams();
    return;
  }
  std::vector<StreamSwitchEntry> entries = std::move(*entries_or);
  // Stream numbers are hex per the spec; FFmpeg and libmms print them in decimal.
  // If the hex reading names streams the header lacks, try the decimal reading.
  const bool hex_ok = std::all_of(entries.begin(), entries.end(),
                                  [this](const auto& e) { return content_->has_stream(e.stream); });
  if (!hex_ok) {
    std::vector<std::uint16_t> decimal;
    std::string_view rest(*entry);
    bool dec_ok = true;
    while (!rest.empty()) {
      const std::size_t sp = rest.find(' ');
      const std::string_view item = rest.substr(0, sp);
      rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
      if (item.empty()) {
        continue;
      }
      const std::size_t c1 = item.find(':');
      const std::size_t c2 = item.find(':', c1 == std::string_view::npos ? c1 : c1 + 1);
      std::uint32_t n = 0;
      if (c1 == std::string_view::npos || c2 == std::string_view::npos ||
          !parse_u32(item.substr(c1 + 1, c2 - c1 - 1), &n) || n > 127 ||
          !content_->has_stream(static_cast<std::uint16_t>(n))) {
        dec_ok = false;
        break;
      }
      decimal.push_back(static_cast<std::uint16_t>(n));
    }
    if (dec_ok && decimal.size() == entries.size()) {
      for (std::size_t i = 0; i < entries.size(); ++i) {
        entries[i].stream = decimal[i];
      }
    }
  }
  keep_.assign(128, false);
  std::size_t on = 0;
  for (const StreamSwitchEntry& e : entries) {
    if (e.stream < 128 && content_->has_stream(e.stream)) {
      const bool sel = e.thinning != 2;
      if (sel && !keep_[e.stream]) {
        ++on;
      }
      keep_[e.stream] = keep_[e.stream] || sel;
    } else {
      MMS_LOG(LogLevel::kWarning, kLog, "client-id=%u: stream-switch-entry names unknown stream %u",
              client_id_, e.stream);
    }
  }
  if (on == content_->info().streams.size()) {
    all_streams();
    return;
  }
  MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: %zu of %zu streams selected", client_id_, on,
          content_->info().streams.size());
  framed_ = nullptr;
}

void ServerSession::start_play(const HttpRequest& req, const std::vector<PragmaToken>& pragmas,
                               Instant now) {
  // The body has no length (non-pipelined Play): it ends with the connection.
  keep_alive_ = false;
  response_status_ = 200;
  pending_.clear();
  pending_pos_ = 0;
  append_str(&pending_, response_head(200, "OK", kPlayType, std::nullopt, content_->live(), {}));
  if (config_->fault == Fault::kStallHeader) {
    std::vector<std::uint8_t> h;
    append_header_frames(&h);
    pending_.insert(pending_.end(), h.begin(),
                    h.begin() + static_cast<std::ptrdiff_t>(h.size() / 2));
    produced_ += pending_.size();
    state_ = State::kStalled;
    return;
  }
  append_header_frames(&pending_);
  if (config_->fault == Fault::kBadFrame) {
    const std::size_t at = pending_.size();
    const ByteView payload =
        content_->packet_count() > 0 ? content_->packet(0) : content_->header().subview(0, 64);
    encode_data_frame(kFrameData, 0, 0, 0, payload, &pending_);
    pending_[at] = kBadSync;
    produced_ += pending_.size();
    state_ = State::kDone;
    return;
  }
  select_streams(pragmas);
  bool beyond_end = false;
  // Broadcast Fast Start: join that far behind live (protocol/core/fast_start.h).
  const std::uint32_t behind_ms = broadcast_fast_start_ms(
      pragma_u32(pragmas, "accelduration").value_or(0), config_->fast_start_factor);
  if (content_->fed()) {
    // A publishing point: from its last key frame, each packet as it arrives.
    next_packet_ = content_->live_start(behind_ms);
    paced_ = false;
    MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: Play publishing point %s from packet %u",
            client_id_, req.target.c_str(), next_packet_);
  } else if (content_->live()) {
    // Join the shared broadcast clock at the current position, at a key frame.
    next_packet_ = content_->loop_join(now - config_->live_epoch, behind_ms, &live_iteration_);
    paced_ = true;
    MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: Play live %s: loop %lld, key packet %u",
            client_id_, req.target.c_str(), static_cast<long long>(live_iteration_), next_packet_);
  } else {
    next_packet_ = choose_start(pragmas, &beyond_end);
    paced_ = !config_->fast;
    MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: Play %s from packet %u of %u (%s)", client_id_,
            req.target.c_str(), next_packet_, content_->packet_count(), paced_ ? "paced" : "fast");
  }
  start_packet_ = next_packet_;
  if (beyond_end) {
    encode_reason_frame(kFrameEnd, 0, &pending_);
    produced_ += pending_.size();
    state_ = State::kDone;
    return;
  }
  produced_ += pending_.size();
  play_start_ = now;
  start_send_ms_ =
      next_packet_ < content_->packet_count() ? content_->meta(next_packet_).send_time_ms : 0;
  accel_ = FastStart();
  if (paced_ && !content_->live()) {
    accel_ = FastStart::grant(pragma_u32(pragmas, "accelduration").value_or(0),
                              pragma_u32(pragmas, "accelbw").value_or(0), content_bps(*content_),
                              config_->fast_start_factor);
    if (accel_.active()) {
      MMS_LOG(LogLevel::kInfo, kLog, "client-id=%u: Fast Start: %lld ms at %ux", client_id_,
              static_cast<long long>(accel_.burst_ms), accel_.factor);
    }
  }
  state_ = State::kStreaming;
}

}  // namespace mms::mmsh
