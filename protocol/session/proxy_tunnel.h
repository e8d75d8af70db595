// ProxyTunnelSession: a transport's TCP connections through an HTTP proxy's
// CONNECT method (RFC 9110 §9.3.6), as a decorator around the transport's
// ClientSession.
//
// The inner session (RTSP/TCP or MMS/TCP) asks for TCP connections as usual.
// The tunnel opens each of them to the proxy instead, sends
// "CONNECT host:port HTTP/1.1", reads the proxy's answer head and:
//
//  * 2xx: tells the inner session its connection is open and from then on
//    passes bytes through untouched both ways (bytes that followed the answer
//    head in the same read go to the inner session);
//  * 407: answers once with Basic or Digest (method "CONNECT", uri
//    "host:port") from the proxy URL's credentials, on the same connection if
//    the proxy keeps it alive (its small body is skipped) or on a new one;
//    a second 407, or one without credentials, fails with kNotAuthorized
//    (detail 407);
//  * anything else fails: 403 kRefused, 502/503 kRefused, 504 kTimedOut, other
//    statuses kRefused, each with the status line in the event's detail; a head
//    above kMaxProxyHead or one that does not parse kLimitExceeded/kMalformed.
//
// The answer is awaited at most `timeout` (ClientConfig) from the CONNECT.
// Channel ids towards the caller are the tunnel's own (a reconnect after a 407
// is a new channel for the caller, the same one for the inner session).
// Thread confinement: one thread at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/auth/client_auth.h"
#include "protocol/core/url.h"
#include "protocol/session/client_session.h"

namespace mms::session {

// The proxy's answer head: at most this many bytes (proxies answer CONNECT
// with a few hundred), and a 407 body skipped on a kept-alive connection at
// most this long (else the connection is dropped and a new one opened).
constexpr std::size_t kMaxProxyHead = 16 * 1024;
constexpr std::size_t kMaxProxySkippedBody = 64 * 1024;

// The part of a proxy's answer the tunnel uses.
struct ProxyAnswer {
  int version_minor = 0;  // HTTP/1.x
  int status = 0;
  std::string reason;
  std::vector<std::string> authenticate;  // every Proxy-Authenticate value
  bool keep_alive = false;                // the connection stays open after this answer
  std::optional<std::uint32_t> content_length;
  bool chunked = false;
};
enum class ProxyParse : std::uint8_t { kDone, kNeedMore, kError };
// Parses the answer head from the front of `in`: kDone with *consumed = the
// head's bytes including the blank line; kNeedMore without a blank line yet
// (kError with kLimitExceeded once `in` holds kMaxProxyHead bytes without
// one); kError kMalformed for a bad status line or header line. Bare LF line
// ends are accepted.
ProxyParse parse_proxy_answer(ByteView in, ProxyAnswer* out, std::size_t* consumed, Status* error);

// "host:port" as CONNECT and its Host header name it (brackets for IPv6).
std::string connect_authority(const std::string& host, std::uint16_t port);

class ProxyTunnelSession final : public ClientSession {
 public:
  // `proxy`: host, port (0 = 3128) and credentials of the proxy. `config`:
  // the user agent, the timeout and the client GUID (Digest cnonce salt).
  ProxyTunnelSession(std::unique_ptr<ClientSession> inner, Url proxy, const ClientConfig& config);

  void on_connected(ChannelId ch, Instant now) override;
  void on_connect_failed(ChannelId ch, Status why, Instant now) override;
  std::size_t on_bytes(ChannelId ch, ByteView bytes, Instant now) override;
  void on_eof(ChannelId ch, Instant now) override;
  void on_timeout(Instant now) override;
  std::optional<Instant> next_deadline() const override;
  void on_throttle(bool paused, Instant now) override;
  bool keep_reading_when_throttled() const override;
  void on_udp_bound(ChannelId ch, std::uint16_t port, Instant now) override;
  void on_datagram(ChannelId ch, ByteView datagram, Instant now) override;
  void on_local_address(ChannelId ch, const std::string& local_ip) override;
  void play(const PlayRequest& req, Instant now) override;
  void close() override;
  bool next_io_action(IoAction* out) override;
  bool next_event(Event* out) override;
  bool seekable() const override;
  const char* transport_name() const override;

 private:
  // One tunnelled connection of the inner session.
  struct Tunnel {
    enum class State : std::uint8_t {
      kConnecting,   // TCP connect to the proxy in progress
      kAwaitAnswer,  // CONNECT sent, reading the answer head
      kSkipBody,     // a 407 with a body on a kept-alive connection: skipping it
      kOpen,         // tunnel established: bytes pass through
    };
    State state = State::kConnecting;
    ChannelId inner = 0;
    std::string authority;      // "host:port" of the server
    std::string authorization;  // Proxy-Authorization of the next CONNECT ("" = none)
    auth::ClientAuth auth;      // the proxy's 407 challenges for this connection
    std::size_t body_left = 0;  // kSkipBody
    std::string pending;        // inner bytes sent before the tunnel opened
    std::optional<Instant> deadline;
  };

  void pump(Instant now);
  ChannelId open_outer(ChannelId inner);
  void connect_to_proxy(ChannelId outer, Tunnel* t, Instant now);
  void send_connect(ChannelId outer, Tunnel* t, Instant now);
  std::size_t on_answer(ChannelId outer, Tunnel* t, ByteView bytes, Instant now);
  // Handles a complete 407; false when the tunnel failed.
  bool answer_challenge(ChannelId outer, Tunnel* t, const ProxyAnswer& a, std::size_t rest,
                        Instant now, bool* reconnected);
  void open_tunnel(ChannelId outer, Tunnel* t, Instant now);
  void fail(Status status, std::string detail = std::string());
  void send(ChannelId outer, std::string bytes);

  std::unique_ptr<ClientSession> inner_;
  Url proxy_;
  std::string user_agent_;
  Duration timeout_ = 0;
  std::string client_guid_;  // salts the Digest cnonce

  ChannelId next_outer_ = 1;
  std::map<ChannelId, ChannelId> to_inner_;  // outer -> inner
  std::map<ChannelId, ChannelId> to_outer_;  // inner -> outer
  std::map<ChannelId, Tunnel> tunnels_;      // by outer id
  std::deque<IoAction> actions_;
  std::deque<Event> events_;
  bool failed_ = false;
};

}  // namespace mms::session
