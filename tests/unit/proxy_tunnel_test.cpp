// ProxyTunnelSession: a transport session's TCP connection through an HTTP
// proxy's CONNECT, with a fake transport inside and the proxy's answers fed by
// hand, whole and byte by byte: the CONNECT request, 200 and pass-through (bytes
// in the same read as the answer head included), 407 answered once with Basic
// or Digest on the same or a new connection, wrong or missing credentials,
// refusals, malformed and oversize heads, the answer timeout. Also the answer
// parser and the no_proxy matcher the element uses.
#include "protocol/session/proxy_tunnel.h"

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/auth/http_auth.h"
#include "protocol/core/text.h"

namespace mms::session {
namespace {

// The transport inside: opens one TCP connection on play, says what it got.
class Inner final : public ClientSession {
 public:
  std::vector<ChannelId> connected;
  std::vector<ChannelId> connect_failed;
  std::string received;
  int eofs = 0;
  int timeouts = 0;
  std::deque<IoAction> actions;
  std::deque<Event> events;

  void on_connected(ChannelId ch, Instant) override {
    connected.push_back(ch);
    IoAction a;  // the transport's first request, right away
    a.kind = IoAction::Kind::kSend;
    a.channel = ch;
    a.bytes = "HELLO SERVER";
    actions.push_back(a);
  }
  void on_connect_failed(ChannelId ch, Status why, Instant) override {
    connect_failed.push_back(ch);
    events.push_back(failed_event(why));
  }
  std::size_t on_bytes(ChannelId, ByteView bytes, Instant) override {
    received.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());  // NOLINT
    return bytes.size();
  }
  void on_eof(ChannelId, Instant) override { ++eofs; }
  void on_timeout(Instant) override { ++timeouts; }
  std::optional<Instant> next_deadline() const override { return Instant{1000 * kSecond}; }
  void on_throttle(bool, Instant) override {}
  void play(const PlayRequest&, Instant) override {
    IoAction a;
    a.kind = IoAction::Kind::kConnectTcp;
    a.channel = 7;
    a.host = "media.example";
    a.port = 554;
    actions.push_back(a);
  }
  void close() override {
    IoAction a;
    a.kind = IoAction::Kind::kClose;
    a.channel = 7;
    actions.push_back(a);
  }
  bool next_io_action(IoAction* out) override { return pop_front(&actions, out); }
  bool next_event(Event* out) override { return pop_front(&events, out); }
  bool seekable() const override { return true; }
  const char* transport_name() const override { return "rtspt"; }
};

Url proxy_url(const char* text) {
  Result<Url> u = parse_url(text);
  EXPECT_TRUE(u.ok()) << text;
  return u.ok() ? *u : Url();
}

struct Rig {
  Inner* inner = nullptr;
  std::unique_ptr<ProxyTunnelSession> tunnel;
  std::vector<IoAction> actions;
  Instant now{10 * kSecond};

  explicit Rig(const char* proxy = "http://proxy.example:3129") {
    auto in = std::make_unique<Inner>();
    inner = in.get();
    ClientConfig cfg;
    cfg.user_agent = "TestAgent/1";
    cfg.timeout = 5 * kSecond;
    cfg.client_guid = "{01234567-89ab-cdef-0123-456789abcdef}";
    tunnel = std::make_unique<ProxyTunnelSession>(std::move(in), proxy_url(proxy), cfg);
    tunnel->play(PlayRequest{}, now);
    drain();
  }
  void drain() {
    IoAction a;
    while (tunnel->next_io_action(&a)) {
      actions.push_back(a);
    }
  }
  // The last kConnectTcp: the proxy's address, our channel.
  ChannelId last_connect() const {
    for (auto it = actions.rbegin(); it != actions.rend(); ++it) {
      if (it->kind == IoAction::Kind::kConnectTcp) {
        return it->channel;
      }
    }
    return 0;
  }
  std::vector<std::string> sends(ChannelId ch) const {
    std::vector<std::string> out;
    for (const IoAction& a : actions) {
      if (a.kind == IoAction::Kind::kSend && a.channel == ch) {
        out.push_back(a.bytes);
      }
    }
    return out;
  }
  bool closed(ChannelId ch) const {
    for (const IoAction& a : actions) {
      if (a.kind == IoAction::Kind::kClose && a.channel == ch) {
        return true;
      }
    }
    return false;
  }
  // Feeds `text` on `ch` as the I/O layer does: whole, or one byte at a time
  // with the unconsumed rest offered again with the next byte appended.
  void feed(ChannelId ch, const std::string& text, bool bytewise) {
    std::string buffer;
    if (!bytewise) {
      buffer = text;
      std::size_t n = tunnel->on_bytes(ch, ByteView::of(buffer), now);
      EXPECT_LE(n, buffer.size());
      buffer.erase(0, n);
    } else {
      for (char c : text) {
        buffer.push_back(c);
        std::size_t n = tunnel->on_bytes(ch, ByteView::of(buffer), now);
        EXPECT_LE(n, buffer.size());
        buffer.erase(0, n);
      }
    }
    drain();
    leftover = buffer;
  }
  std::optional<Event> failure() {
    Event e;
    while (tunnel->next_event(&e)) {
      if (e.kind == Event::Kind::kFailed) {
        return e;
      }
    }
    return std::nullopt;
  }
  std::string leftover;
};

// The header value of `name` in a request head, "" if absent.
std::string header(const std::string& head, const std::string& name) {
  std::size_t pos = head.find("\r\n" + name + ": ");
  if (pos == std::string::npos) {
    return "";
  }
  pos += name.size() + 4;
  return head.substr(pos, head.find("\r\n", pos) - pos);
}

const char* const kOk = "HTTP/1.1 200 Connection established\r\nVia: 1.1 proxy\r\n\r\n";

class Split : public ::testing::TestWithParam<bool> {};
INSTANTIATE_TEST_SUITE_P(WholeAndBytewise, Split, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? "bytewise" : "whole";
                         });

TEST(ProxyTunnel, ConnectsToTheProxyAndAsksForHostPort) {
  Rig r;
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(r.actions[0].kind, IoAction::Kind::kConnectTcp);
  EXPECT_EQ(r.actions[0].host, "proxy.example");
  EXPECT_EQ(r.actions[0].port, 3129);
  const ChannelId ch = r.actions[0].channel;
  EXPECT_TRUE(r.sends(ch).empty());
  EXPECT_TRUE(r.inner->connected.empty());  // not before the tunnel is open
  r.tunnel->on_connected(ch, r.now);
  r.drain();
  ASSERT_EQ(r.sends(ch).size(), 1u);
  const std::string req = r.sends(ch)[0];
  EXPECT_EQ(req.substr(0, req.find("\r\n")), "CONNECT media.example:554 HTTP/1.1");
  EXPECT_EQ(header(req, "Host"), "media.example:554");
  EXPECT_EQ(header(req, "User-Agent"), "TestAgent/1");
  EXPECT_EQ(header(req, "Proxy-Authorization"), "");
  EXPECT_EQ(req.substr(req.size() - 4), "\r\n\r\n");
  EXPECT_TRUE(r.inner->connected.empty());
}

TEST(ProxyTunnel, DefaultProxyPortAndIpv6Authority) {
  Rig r("http://proxy.example");
  EXPECT_EQ(r.actions[0].port, 3128);
  EXPECT_EQ(connect_authority("::1", 1755), "[::1]:1755");
  EXPECT_EQ(connect_authority("10.0.0.1", 80), "10.0.0.1:80");
}

TEST_P(Split, OkOpensTheTunnelAndPassesBytesThrough) {
  Rig r;
  const ChannelId ch = r.last_connect();
  r.tunnel->on_connected(ch, r.now);
  r.drain();
  // The server's first bytes arrive in the same read as the proxy's head.
  r.feed(ch, std::string(kOk) + "RTSP/1.0 200 OK\r\n", GetParam());
  ASSERT_EQ(r.inner->connected, std::vector<ChannelId>{7});
  EXPECT_EQ(r.inner->received, "RTSP/1.0 200 OK\r\n");
  EXPECT_TRUE(r.leftover.empty());
  // The inner session's bytes go out on the tunnel, untouched.
  ASSERT_EQ(r.sends(ch).size(), 2u);
  EXPECT_EQ(r.sends(ch)[1], "HELLO SERVER");
  // Later bytes and the end pass through as well.
  r.feed(ch, "more", GetParam());
  EXPECT_EQ(r.inner->received, "RTSP/1.0 200 OK\r\nmore");
  r.tunnel->on_eof(ch, r.now);
  EXPECT_EQ(r.inner->eofs, 1);
  EXPECT_FALSE(r.failure());
  EXPECT_STREQ(r.tunnel->transport_name(), "rtspt");
  // Closing closes our channel.
  r.tunnel->close();
  r.drain();
  EXPECT_TRUE(r.closed(ch));
}

TEST_P(Split, BasicAnswerOnAKeptAliveConnection) {
  Rig r("http://pu:pp@proxy.example:3129");
  const ChannelId ch = r.last_connect();
  r.tunnel->on_connected(ch, r.now);
  r.drain();
  r.feed(ch,
         "HTTP/1.1 407 Proxy Authentication Required\r\n"
         "Proxy-Authenticate: Basic realm=\"proxy\"\r\n"
         "Content-Length: 9\r\n\r\n"
         "go away\r\n",
         GetParam());
  ASSERT_EQ(r.sends(ch).size(), 2u);  // the same connection
  EXPECT_EQ(header(r.sends(ch)[1], "Proxy-Authorization"), "Basic " + base64_encode("pu:pp"));
  EXPECT_FALSE(r.closed(ch));
  EXPECT_TRUE(r.inner->connected.empty());
  r.feed(ch, std::string(kOk) + "X", GetParam());
  EXPECT_EQ(r.inner->connected, std::vector<ChannelId>{7});
  EXPECT_EQ(r.inner->received, "X");
  EXPECT_FALSE(r.failure());
}

TEST_P(Split, DigestAnswerOnANewConnection) {
  Rig r("http://pu:pp@proxy.example:3129");
  const ChannelId first = r.last_connect();
  r.tunnel->on_connected(first, r.now);
  r.drain();
  r.feed(first,
         "HTTP/1.1 407 Proxy Authentication Required\r\n"
         "Proxy-Authenticate: Basic realm=\"proxy\"\r\n"
         "Proxy-Authenticate: Digest realm=\"proxy\", nonce=\"abc123\", qop=\"auth\", "
         "opaque=\"op\"\r\n"
         "Connection: close\r\n\r\n",
         GetParam());
  EXPECT_TRUE(r.closed(first));
  const ChannelId second = r.last_connect();
  ASSERT_NE(second, first);
  EXPECT_EQ(r.actions.back().host, "proxy.example");
  r.tunnel->on_connected(second, r.now);
  r.drain();
  ASSERT_EQ(r.sends(second).size(), 1u);
  const std::string value = header(r.sends(second)[0], "Proxy-Authorization");
  ASSERT_EQ(value.rfind("Digest ", 0), 0u) << value;  // preferred over Basic
  Result<std::vector<auth::AuthChallenge>> creds = auth::parse_auth(value);
  ASSERT_TRUE(creds.ok());
  ASSERT_EQ(creds->size(), 1u);
  const auth::AuthChallenge& c = (*creds)[0];
  EXPECT_EQ(*c.param("uri"), "media.example:554");
  EXPECT_EQ(*c.param("username"), "pu");
  EXPECT_EQ(*c.param("opaque"), "op");
  EXPECT_TRUE(auth::digest_verify(c, "CONNECT", "pp"));
  EXPECT_FALSE(auth::digest_verify(c, "CONNECT", "wrong"));
  r.feed(second, kOk, GetParam());
  EXPECT_EQ(r.inner->connected, std::vector<ChannelId>{7});
  EXPECT_FALSE(r.failure());
}

TEST_P(Split, WrongCredentialsAreNotAuthorized) {
  Rig r("http://pu:bad@proxy.example:3129");
  const ChannelId ch = r.last_connect();
  r.tunnel->on_connected(ch, r.now);
  r.drain();
  const std::string challenge =
      "HTTP/1.1 407 Proxy Authentication Required\r\n"
      "Proxy-Authenticate: Basic realm=\"proxy\"\r\nContent-Length: 0\r\n\r\n";
  r.feed(ch, challenge, GetParam());
  ASSERT_EQ(r.sends(ch).size(), 2u);
  r.feed(ch, challenge, GetParam());
  EXPECT_EQ(r.sends(ch).size(), 2u);  // answered once only
  std::optional<Event> f = r.failure();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->status.code(), Code::kNotAuthorized);
  EXPECT_STREQ(f->status.what(), "proxy rejected the credentials");
  EXPECT_EQ(f->status.detail(), 407u);
  EXPECT_EQ(f->detail, "407 Proxy Authentication Required");
  EXPECT_TRUE(r.closed(ch));
  EXPECT_TRUE(r.inner->connected.empty());
}

TEST(ProxyTunnel, NoCredentialsForAChallenge) {
  Rig r;
  const ChannelId ch = r.last_connect();
  r.tunnel->on_connected(ch, r.now);
  r.drain();
  r.feed(ch, "HTTP/1.0 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n",
         false);
  std::optional<Event> f = r.failure();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->status.code(), Code::kNotAuthorized);
  EXPECT_STREQ(f->status.what(), "proxy requires authentication");
  EXPECT_EQ(f->status.detail(), 407u);
}

TEST(ProxyTunnel, UnknownSchemeOnlyIsRefused) {
  Rig r("http://pu:pp@proxy.example:3129");
  const ChannelId ch = r.last_connect();
  r.tunnel->on_connected(ch, r.now);
  r.drain();
  r.feed(ch, "HTTP/1.1 407 Auth\r\nProxy-Authenticate: Bearer\r\nContent-Length: 0\r\n\r\n", false);
  std::optional<Event> f = r.failure();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->status.code(), Code::kNotAuthorized);
  EXPECT_STREQ(f->status.what(), "proxy offers no authentication scheme we speak");
  EXPECT_EQ(f->status.detail(), 407u);
}

struct Refusal {
  const char* head;
  Code code;
  std::uint32_t detail;
  const char* text;
};

class Refusals : public ::testing::TestWithParam<std::tuple<Refusal, bool>> {};

TEST_P(Refusals, FailWithTheStatusLine) {
  const Refusal& want = std::get<0>(GetParam());
  Rig r;
  const ChannelId ch = r.last_connect();
  r.tunnel->on_connected(ch, r.now);
  r.drain();
  r.feed(ch, want.head, std::get<1>(GetParam()));
  std::optional<Event> f = r.failure();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->status.code(), want.code);
  EXPECT_EQ(f->status.detail(), want.detail);
  EXPECT_EQ(f->detail, want.text);
  EXPECT_TRUE(r.closed(ch));
  EXPECT_TRUE(r.inner->connected.empty());
  // Sticky: later input is ignored.
  r.feed(ch, kOk, false);
  EXPECT_TRUE(r.inner->connected.empty());
  EXPECT_FALSE(r.tunnel->next_deadline());
}

INSTANTIATE_TEST_SUITE_P(
    Statuses, Refusals,
    ::testing::Combine(
        ::testing::Values(Refusal{"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
                                  Code::kRefused, 403, "403 Forbidden"},
                          Refusal{"HTTP/1.1 502 Bad Gateway\r\n\r\n", Code::kRefused, 502,
                                  "502 Bad Gateway"},
                          Refusal{"HTTP/1.0 504 Gateway Timeout\r\n\r\n", Code::kTimedOut, 504,
                                  "504 Gateway Timeout"},
                          Refusal{"HTTP/1.1 405 Method Not Allowed\r\n\r\n", Code::kRefused, 405,
                                  "405 Method Not Allowed"}),
        ::testing::Bool()));

TEST_P(Split, MalformedAnswersAreRejected) {
  for (const char* bad : {"SSH-2.0-OpenSSH\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n",
                          "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"}) {
    Rig r;
    const ChannelId ch = r.last_connect();
    r.tunnel->on_connected(ch, r.now);
    r.drain();
    r.feed(ch, bad, GetParam());
    std::optional<Event> f = r.failure();
    ASSERT_TRUE(f) << bad;
    EXPECT_EQ(f->status.code(), Code::kMalformed) << bad;
    EXPECT_TRUE(r.inner->connected.empty());
  }
}

TEST(ProxyTunnel, OversizeHeadIsRejected) {
  Rig r;
  const ChannelId ch = r.last_connect();
  r.tunnel->on_connected(ch, r.now);
  r.drain();
  std::string head = "HTTP/1.1 200 OK\r\n";
  while (head.size() < kMaxProxyHead + 10) {
    head += "X-Filler: 0123456789012345678901234567890123456789\r\n";
  }
  r.feed(ch, head, false);
  std::optional<Event> f = r.failure();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->status.code(), Code::kLimitExceeded);
}

TEST(ProxyTunnel, NoAnswerTimesOut) {
  Rig r;
  const ChannelId ch = r.last_connect();
  r.tunnel->on_connected(ch, r.now);
  r.drain();
  ASSERT_TRUE(r.tunnel->next_deadline());
  EXPECT_EQ(*r.tunnel->next_deadline(), r.now + 5 * kSecond);
  r.tunnel->on_timeout(r.now + 4 * kSecond);
  EXPECT_FALSE(r.failure());
  EXPECT_EQ(r.inner->timeouts, 1);  // the inner session's timers run too
  r.tunnel->on_timeout(r.now + 5 * kSecond);
  std::optional<Event> f = r.failure();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->status.code(), Code::kTimedOut);
}

TEST(ProxyTunnel, ProxyClosingBeforeAnsweringIsLost) {
  Rig r;
  const ChannelId ch = r.last_connect();
  r.tunnel->on_connected(ch, r.now);
  r.drain();
  r.feed(ch, "HTTP/1.1 200", false);
  r.tunnel->on_eof(ch, r.now);
  std::optional<Event> f = r.failure();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->status.code(), Code::kConnectionLost);
}

TEST(ProxyTunnel, ProxyUnreachableIsTheInnerSessionsConnectFailure) {
  Rig r;
  const ChannelId ch = r.last_connect();
  r.tunnel->on_connect_failed(ch, Status(Code::kRefused, "connection refused"), r.now);
  EXPECT_EQ(r.inner->connect_failed, std::vector<ChannelId>{7});
  std::optional<Event> f = r.failure();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->status.code(), Code::kRefused);
}

TEST(ProxyAnswer, ParsesTheHeadersTheTunnelUses) {
  const std::string head =
      "HTTP/1.0 407 Need auth\nProxy-Authenticate: Basic realm=x\n"
      "proxy-authenticate: Digest realm=\"y\", nonce=\"n\"\nProxy-Connection: keep-alive\n"
      "Content-Length: 12\n\nbody";
  ProxyAnswer a;
  std::size_t used = 0;
  Status error;
  ASSERT_EQ(parse_proxy_answer(ByteView::of(head), &a, &used, &error), ProxyParse::kDone);
  EXPECT_EQ(used, head.size() - 4);
  EXPECT_EQ(a.status, 407);
  EXPECT_EQ(a.reason, "Need auth");
  EXPECT_EQ(a.authenticate.size(), 2u);
  EXPECT_TRUE(a.keep_alive);  // HTTP/1.0 with keep-alive
  EXPECT_EQ(a.content_length, 12u);
  // Every proper prefix needs more.
  for (std::size_t n = 0; n < used; ++n) {
    EXPECT_EQ(parse_proxy_answer(ByteView::of(head.substr(0, n)), &a, &used, &error),
              ProxyParse::kNeedMore)
        << n;
  }
  const std::string closing = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(parse_proxy_answer(ByteView::of(closing), &a, &used, &error), ProxyParse::kDone);
  EXPECT_FALSE(a.keep_alive);
  EXPECT_EQ(used, closing.size());
}

}  // namespace
}  // namespace mms::session

namespace mms {
namespace {

TEST(NoProxy, MatchesNamesSuffixesWildcardAndAddresses) {
  EXPECT_TRUE(no_proxy_matches("*", "anything.example"));
  EXPECT_TRUE(no_proxy_matches("localhost,127.0.0.1", "127.0.0.1"));
  EXPECT_TRUE(no_proxy_matches("localhost, 127.0.0.1", "LOCALHOST"));
  EXPECT_FALSE(no_proxy_matches("127.0.0.1", "127.0.0.2"));
  EXPECT_FALSE(no_proxy_matches("127.0.0.1", "127.0.0.10"));
  // A name covers its subdomains; ".domain" the domain and its subdomains.
  EXPECT_TRUE(no_proxy_matches("example.com", "example.com"));
  EXPECT_TRUE(no_proxy_matches("example.com", "media.example.com"));
  EXPECT_FALSE(no_proxy_matches("example.com", "badexample.com"));
  EXPECT_TRUE(no_proxy_matches(".example.com", "media.example.com"));
  EXPECT_TRUE(no_proxy_matches(".example.com", "example.com"));
  EXPECT_FALSE(no_proxy_matches(".example.com", "example.org"));
  // Ports, brackets, trailing dots.
  EXPECT_TRUE(no_proxy_matches("media.invalid:8080", "media.invalid"));
  EXPECT_TRUE(no_proxy_matches("[::1]", "::1"));
  EXPECT_TRUE(no_proxy_matches("::1", "::1"));
  EXPECT_TRUE(no_proxy_matches("example.com.", "media.example.com"));
  EXPECT_FALSE(no_proxy_matches("", "example.com"));
  EXPECT_FALSE(no_proxy_matches(" , ,", "example.com"));
  EXPECT_FALSE(no_proxy_matches("example.com", ""));
}

}  // namespace
}  // namespace mms
