#include "protocol/session/proxy_tunnel.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "protocol/auth/client_auth.h"
#include "protocol/core/log.h"
#include "protocol/core/text.h"

namespace mms::session {
namespace {

constexpr const char* kLog = "proxy";
constexpr std::uint16_t kDefaultProxyPort = 3128;

std::string_view view_of(ByteView b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());  // NOLINT
}

// "HTTP/1.<d> <3 digits>[ reason]"
bool parse_status_line(std::string_view line, ProxyAnswer* out) {
  if (line.size() < 12 || !istarts_with(line, "HTTP/1.") || line[7] < '0' || line[7] > '9' ||
      line[8] != ' ') {
    return false;
  }
  out->version_minor = line[7] - '0';
  int status = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') {
      return false;
    }
    status = status * 10 + (line[i] - '0');
  }
  if (line.size() > 12 && line[12] != ' ') {
    return false;
  }
  out->status = status;
  out->reason = line.size() > 13 ? std::string(trim_lws(line.substr(13))) : std::string();
  return true;
}

bool has_token(std::string_view value, std::string_view token) {
  for (std::string_view piece : split_unquoted(value, ',')) {
    if (iequals(trim_lws(piece), token)) {
      return true;
    }
  }
  return false;
}

}  // namespace

ProxyParse parse_proxy_answer(ByteView in, ProxyAnswer* out, std::size_t* consumed, Status* error) {
  const std::string_view text = view_of(in.subview(0, kMaxProxyHead));
  // The end of the head: the first empty line.
  std::size_t end = std::string_view::npos;
  std::size_t head_len = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) {
      break;
    }
    std::string_view line = text.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.empty() && pos > 0) {
      end = pos;
      head_len = nl + 1;
      break;
    }
    pos = nl + 1;
  }
  if (end == std::string_view::npos) {
    if (in.size() >= kMaxProxyHead) {
      *error = Status(Code::kLimitExceeded, "proxy answer head too long");
      return ProxyParse::kError;
    }
    // A first line that cannot be a status line is an error now.
    std::string_view start = text.substr(0, std::min<std::size_t>(text.size(), 5));
    if (!istarts_with("HTTP/", start)) {
      *error = Status(Code::kMalformed, "proxy answered with something that is not HTTP");
      return ProxyParse::kError;
    }
    return ProxyParse::kNeedMore;
  }
  *out = ProxyAnswer();
  bool first = true;
  bool close = false;
  bool keep = false;
  for (std::size_t pos = 0; pos < end;) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (first) {
      first = false;
      if (!parse_status_line(line, out)) {
        *error = Status(Code::kMalformed, "proxy sent a malformed status line");
        return ProxyParse::kError;
      }
      continue;
    }
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 || !is_token(line.substr(0, colon))) {
      *error = Status(Code::kMalformed, "proxy sent a malformed header line");
      return ProxyParse::kError;
    }
    std::string_view name = line.substr(0, colon);
    std::string_view value = trim_lws(line.substr(colon + 1));
    if (iequals(name, "Proxy-Authenticate")) {
      out->authenticate.emplace_back(value);
    } else if (iequals(name, "Connection") || iequals(name, "Proxy-Connection")) {
      close = close || has_token(value, "close");
      keep = keep || has_token(value, "keep-alive");
    } else if (iequals(name, "Content-Length")) {
      std::uint32_t n = 0;
      if (!parse_u32(value, &n)) {
        *error = Status(Code::kMalformed, "proxy sent a bad Content-Length");
        return ProxyParse::kError;
      }
      out->content_length = n;
    } else if (iequals(name, "Transfer-Encoding")) {
      out->chunked = !iequals(value, "identity");
    }
  }
  out->keep_alive = !close && (out->version_minor >= 1 || keep);
  *consumed = head_len;
  return ProxyParse::kDone;
}

std::string connect_authority(const std::string& host, std::uint16_t port) {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

ProxyTunnelSession::ProxyTunnelSession(std::unique_ptr<ClientSession> inner, Url proxy,
                                       const ClientConfig& config)
    : inner_(std::move(inner)),
      proxy_(std::move(proxy)),
      user_agent_(config.user_agent),
      timeout_(config.timeout) {
  if (proxy_.port == 0) {
    proxy_.port = kDefaultProxyPort;
  }
  client_guid_ = config.client_guid;
}

// --- plumbing -----------------------------------------------------------------

ChannelId ProxyTunnelSession::open_outer(ChannelId inner) {
  auto old = to_outer_.find(inner);
  if (old != to_outer_.end()) {
    // Re-opening an id: the old channel of that id is closed first.
    IoAction c;
    c.kind = IoAction::Kind::kClose;
    c.channel = old->second;
    actions_.push_back(std::move(c));
    to_inner_.erase(old->second);
    tunnels_.erase(old->second);
  }
  const ChannelId outer = next_outer_++;
  to_outer_[inner] = outer;
  to_inner_[outer] = inner;
  return outer;
}

void ProxyTunnelSession::pump(Instant now) {
  if (failed_) {
    return;
  }
  IoAction a;
  while (inner_->next_io_action(&a)) {
    if (a.kind == IoAction::Kind::kConnectTcp) {
      const ChannelId outer = open_outer(a.channel);
      Tunnel& t = tunnels_[outer];
      t.inner = a.channel;
      t.authority = connect_authority(a.host, a.port);
      t.auth = auth::ClientAuth(client_guid_, true);
      MMS_LOG(LogLevel::kInfo, kLog, "tunnel to %s through the proxy %s", t.authority.c_str(),
              connect_authority(proxy_.host, proxy_.port).c_str());
      connect_to_proxy(outer, &t, now);
      continue;
    }
    if (a.kind == IoAction::Kind::kBindUdp) {
      a.channel = open_outer(a.channel);
      actions_.push_back(std::move(a));
      continue;
    }
    auto it = to_outer_.find(a.channel);
    if (it == to_outer_.end()) {
      continue;  // a channel that was never opened
    }
    const ChannelId outer = it->second;
    auto t = tunnels_.find(outer);
    if (a.kind == IoAction::Kind::kClose) {
      to_inner_.erase(outer);
      to_outer_.erase(it);
      if (t != tunnels_.end()) {
        tunnels_.erase(t);
      }
    } else if (a.kind == IoAction::Kind::kSend && t != tunnels_.end() &&
               t->second.state != Tunnel::State::kOpen) {
      t->second.pending += a.bytes;  // sent once the tunnel is open
      continue;
    }
    a.channel = outer;
    actions_.push_back(std::move(a));
  }
}

void ProxyTunnelSession::connect_to_proxy(ChannelId outer, Tunnel* t, Instant now) {
  t->state = Tunnel::State::kConnecting;
  if (timeout_ > 0) {
    t->deadline = now + timeout_;
  }
  IoAction c;
  c.kind = IoAction::Kind::kConnectTcp;
  c.channel = outer;
  c.host = proxy_.host;
  c.port = proxy_.port;
  actions_.push_back(std::move(c));
}

void ProxyTunnelSession::send(ChannelId outer, std::string bytes) {
  IoAction a;
  a.kind = IoAction::Kind::kSend;
  a.channel = outer;
  a.bytes = std::move(bytes);
  actions_.push_back(std::move(a));
}

void ProxyTunnelSession::send_connect(ChannelId outer, Tunnel* t, Instant now) {
  std::string req = "CONNECT " + t->authority + " HTTP/1.1\r\n";
  req += "Host: " + t->authority + "\r\n";
  req += "User-Agent: " + user_agent_ + "\r\n";
  req += "Proxy-Connection: Keep-Alive\r\n";
  if (!t->authorization.empty()) {
    req += "Proxy-Authorization: " + t->authorization + "\r\n";
  }
  req += "\r\n";
  send(outer, std::move(req));
  t->state = Tunnel::State::kAwaitAnswer;
  if (timeout_ > 0) {
    t->deadline = now + timeout_;
  }
}

void ProxyTunnelSession::fail(Status status, std::string detail) {
  if (failed_) {
    return;
  }
  failed_ = true;
  MMS_LOG(LogLevel::kInfo, kLog, "tunnel failed: %s%s%s", status.what(), detail.empty() ? "" : ": ",
          detail.c_str());
  for (const auto& [outer, inner] : to_inner_) {
    IoAction c;
    c.kind = IoAction::Kind::kClose;
    c.channel = outer;
    actions_.push_back(std::move(c));
  }
  to_inner_.clear();
  to_outer_.clear();
  tunnels_.clear();
  events_.push_back(failed_event(status, std::move(detail)));
}

void ProxyTunnelSession::open_tunnel(ChannelId outer, Tunnel* t, Instant now) {
  MMS_LOG(LogLevel::kInfo, kLog, "tunnel to %s open", t->authority.c_str());
  t->state = Tunnel::State::kOpen;
  t->deadline.reset();
  const ChannelId inner = t->inner;
  if (!t->pending.empty()) {
    send(outer, std::move(t->pending));
    t->pending.clear();
  }
  inner_->on_connected(inner, now);
  pump(now);
}

// --- the proxy's answer --------------------------------------------------------

bool ProxyTunnelSession::answer_challenge(ChannelId outer, Tunnel* t, const ProxyAnswer& a,
                                          std::size_t rest, Instant now, bool* reconnected) {
  const std::string detail = std::to_string(a.status) + " " + a.reason;
  // Digest when offered (the password does not travel), else Basic
  // (protocol/auth/client_auth.h); no challenge at all: Basic, as browsers do.
  std::vector<std::string_view> offered(a.authenticate.begin(), a.authenticate.end());
  if (offered.empty()) {
    offered.emplace_back("Basic");
  }
  const auth::Credentials credentials{proxy_.user, proxy_.password};
  Status taken = t->auth.on_challenge(offered, 407, credentials);
  if (!taken.ok()) {
    fail(taken, detail);
    return false;
  }
  t->auth.next_request();
  t->authorization = t->auth.authorization("CONNECT", t->authority, credentials);
  const bool reuse = a.keep_alive && !a.chunked &&
                     a.content_length.value_or(0) <= kMaxProxySkippedBody &&
                     (a.content_length.has_value() || a.version_minor >= 1);
  if (reuse) {
    t->body_left = a.content_length.value_or(0);
    if (t->body_left == 0) {
      send_connect(outer, t, now);
    } else {
      t->state = Tunnel::State::kSkipBody;
    }
    (void)rest;
    *reconnected = false;
    return true;
  }
  if (t->auth.continuing()) {
    // NTLM answers a CHALLENGE on the connection that carried it.
    fail(Status(Code::kNotAuthorized, "the proxy's NTLM challenge did not keep the connection open",
                407),
         detail);
    return false;
  }
  // The proxy closes (or we cannot tell where its answer ends): a new connection.
  t->auth.new_connection();
  Tunnel moved = std::move(*t);
  const ChannelId inner = moved.inner;
  tunnels_.erase(outer);
  const ChannelId fresh = open_outer(inner);  // closes `outer`
  Tunnel& nt = tunnels_[fresh];
  nt = std::move(moved);
  connect_to_proxy(fresh, &nt, now);
  *reconnected = true;
  return true;
}

std::size_t ProxyTunnelSession::on_answer(ChannelId outer, Tunnel* t, ByteView bytes, Instant now) {
  std::size_t used = 0;
  while (!failed_) {
    if (t->state == Tunnel::State::kSkipBody) {
      std::size_t n = std::min(t->body_left, bytes.size() - used);
      used += n;
      t->body_left -= n;
      if (t->body_left > 0) {
        return used;
      }
      send_connect(outer, t, now);
      continue;
    }
    if (t->state != Tunnel::State::kAwaitAnswer) {
      return bytes.size();  // not expecting anything: drop
    }
    ProxyAnswer a;
    std::size_t head = 0;
    Status error;
    ProxyParse p = parse_proxy_answer(bytes.subview(used), &a, &head, &error);
    if (p == ProxyParse::kNeedMore) {
      return used;
    }
    if (p == ProxyParse::kError) {
      fail(error);
      return bytes.size();
    }
    used += head;
    MMS_LOG(LogLevel::kDebug, kLog, "CONNECT %s: %d %s", t->authority.c_str(), a.status,
            a.reason.c_str());
    const std::string detail = std::to_string(a.status) + " " + a.reason;
    if (a.status >= 200 && a.status <= 299) {
      const ChannelId inner = t->inner;
      open_tunnel(outer, t, now);
      if (failed_ || to_outer_.count(inner) == 0 || used == bytes.size()) {
        return failed_ || to_outer_.count(inner) == 0 ? bytes.size() : used;
      }
      // Bytes after the head in the same read belong to the inner session.
      std::size_t n = inner_->on_bytes(inner, bytes.subview(used), now);
      pump(now);
      return used + n;
    }
    if (a.status == 407) {
      bool reconnected = false;
      if (!answer_challenge(outer, t, a, bytes.size() - used, now, &reconnected)) {
        return bytes.size();
      }
      if (reconnected) {
        return bytes.size();  // the old connection is closed
      }
      continue;  // skip the body, then wait for the next answer
    }
    if (a.status == 504) {
      fail(Status(Code::kTimedOut, "proxy timed out reaching the server",
                  static_cast<std::uint32_t>(a.status)),
           detail);
    } else if (a.status == 502 || a.status == 503) {
      fail(Status(Code::kRefused, "proxy cannot reach the server",
                  static_cast<std::uint32_t>(a.status)),
           detail);
    } else if (a.status == 403) {
      fail(Status(Code::kRefused, "proxy refused the connection", 403), detail);
    } else {
      fail(Status(Code::kRefused, "proxy did not open a tunnel",
                  a.status > 0 ? static_cast<std::uint32_t>(a.status) : 0u),
           detail);
    }
    return bytes.size();
  }
  return bytes.size();
}

// --- inputs -------------------------------------------------------------------

void ProxyTunnelSession::on_connected(ChannelId ch, Instant now) {
  if (failed_) {
    return;
  }
  auto t = tunnels_.find(ch);
  if (t != tunnels_.end()) {
    if (t->second.state == Tunnel::State::kConnecting) {
      send_connect(ch, &t->second, now);
    }
    return;
  }
  auto it = to_inner_.find(ch);
  if (it != to_inner_.end()) {
    inner_->on_connected(it->second, now);
    pump(now);
  }
}

void ProxyTunnelSession::on_connect_failed(ChannelId ch, Status why, Instant now) {
  if (failed_) {
    return;
  }
  auto it = to_inner_.find(ch);
  if (it == to_inner_.end()) {
    return;
  }
  const ChannelId inner = it->second;
  if (tunnels_.count(ch) != 0) {
    MMS_LOG(LogLevel::kInfo, kLog, "cannot connect to the proxy %s: %s",
            connect_authority(proxy_.host, proxy_.port).c_str(), why.what());
    tunnels_.erase(ch);
  }
  to_inner_.erase(it);
  to_outer_.erase(inner);
  inner_->on_connect_failed(inner, why, now);
  pump(now);
}

std::size_t ProxyTunnelSession::on_bytes(ChannelId ch, ByteView bytes, Instant now) {
  if (failed_) {
    return bytes.size();
  }
  auto it = to_inner_.find(ch);
  if (it == to_inner_.end()) {
    return bytes.size();  // stale channel
  }
  auto t = tunnels_.find(ch);
  if (t != tunnels_.end() && t->second.state != Tunnel::State::kOpen) {
    return on_answer(ch, &t->second, bytes, now);
  }
  std::size_t n = inner_->on_bytes(it->second, bytes, now);
  pump(now);
  return n;
}

void ProxyTunnelSession::on_eof(ChannelId ch, Instant now) {
  if (failed_) {
    return;
  }
  auto it = to_inner_.find(ch);
  if (it == to_inner_.end()) {
    return;
  }
  auto t = tunnels_.find(ch);
  if (t != tunnels_.end() && t->second.state != Tunnel::State::kOpen) {
    fail(Status(Code::kConnectionLost, "proxy closed the connection before opening the tunnel"));
    return;
  }
  inner_->on_eof(it->second, now);
  pump(now);
}

void ProxyTunnelSession::on_timeout(Instant now) {
  if (failed_) {
    return;
  }
  for (const auto& [outer, t] : tunnels_) {
    if (t.deadline && now >= *t.deadline) {
      fail(Status(Code::kTimedOut, t.state == Tunnel::State::kConnecting
                                       ? "cannot connect to the proxy in time"
                                       : "proxy did not answer CONNECT in time"));
      return;
    }
  }
  inner_->on_timeout(now);
  pump(now);
}

std::optional<Instant> ProxyTunnelSession::next_deadline() const {
  if (failed_) {
    return std::nullopt;
  }
  std::optional<Instant> d = inner_->next_deadline();
  for (const auto& [outer, t] : tunnels_) {
    if (t.deadline && (!d || *t.deadline < *d)) {
      d = t.deadline;
    }
  }
  return d;
}

void ProxyTunnelSession::on_throttle(bool paused, Instant now) {
  if (failed_) {
    return;
  }
  inner_->on_throttle(paused, now);
  pump(now);
}

bool ProxyTunnelSession::keep_reading_when_throttled() const {
  return inner_->keep_reading_when_throttled();
}

void ProxyTunnelSession::on_udp_bound(ChannelId ch, std::uint16_t port, Instant now) {
  auto it = to_inner_.find(ch);
  if (!failed_ && it != to_inner_.end()) {
    inner_->on_udp_bound(it->second, port, now);
    pump(now);
  }
}

void ProxyTunnelSession::on_datagram(ChannelId ch, ByteView datagram, Instant now) {
  auto it = to_inner_.find(ch);
  if (!failed_ && it != to_inner_.end()) {
    inner_->on_datagram(it->second, datagram, now);
    pump(now);
  }
}

void ProxyTunnelSession::on_local_address(ChannelId ch, const std::string& local_ip) {
  auto it = to_inner_.find(ch);
  if (!failed_ && it != to_inner_.end()) {
    inner_->on_local_address(it->second, local_ip);
  }
}

void ProxyTunnelSession::play(const PlayRequest& req, Instant now) {
  if (failed_) {
    return;
  }
  inner_->play(req, now);
  pump(now);
}

void ProxyTunnelSession::close() {
  if (failed_) {
    return;
  }
  inner_->close();
  pump(Instant{});
}

bool ProxyTunnelSession::next_io_action(IoAction* out) {
  return pop_front(&actions_, out);
}

bool ProxyTunnelSession::next_event(Event* out) {
  if (pop_front(&events_, out)) {
    return true;
  }
  return !failed_ && inner_->next_event(out);
}

bool ProxyTunnelSession::seekable() const {
  return inner_->seekable();
}

const char* ProxyTunnelSession::transport_name() const {
  return inner_->transport_name();
}

}  // namespace mms::session
