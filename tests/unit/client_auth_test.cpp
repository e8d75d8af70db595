// ClientAuth (protocol/auth/client_auth.h) against ServerAuth
// (server_auth.h): the 401 dialogue of every scheme, played request by
// request as an HTTP connection carries it, with the right and a wrong
// password; and the client's handling of bad NTLM answers. Pure.
#include "protocol/auth/client_auth.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/auth/ntlm.h"
#include "protocol/auth/server_auth.h"
#include "protocol/core/text.h"

namespace mms::auth {
namespace {

struct Dialogue {
  int requests = 0;     // requests the client sent
  int connections = 1;  // connections it used
  std::string scheme;   // the scheme of its last Authorization
  bool authorized = false;
  Status failure;  // the client's refusal, if it gave up
};

// Plays GET requests until the server lets one pass or the client gives up.
// `per_request_connections`: like MMSH without NTLM, each retry on a new
// connection (the server session then starts afresh, as a new connection's
// does) unless the client must continue on this one.
Dialogue play(const ServerAccount& account, const Credentials& credentials, bool connection_auth) {
  Dialogue d;
  ClientAuth client("{01234567-89ab-cdef-0123-456789abcdef}", connection_auth);
  std::optional<ServerAuth> server;
  server.emplace(&account, "nonce-of-the-session", "1", "test");
  for (int round = 0; round < 8; ++round) {
    client.next_request();
    const std::string authorization = client.authorization("GET", "/a.asf", credentials);
    ++d.requests;
    if (!authorization.empty()) {
      d.scheme = authorization.substr(0, authorization.find(' '));
    }
    if (server->check("GET", authorization.empty() ? nullptr : &authorization)) {
      d.authorized = true;
      return d;
    }
    const std::vector<std::string> values = server->challenges();
    const std::vector<std::string_view> offered(values.begin(), values.end());
    Status taken = client.on_challenge(offered, 401, credentials);
    if (!taken.ok()) {
      d.failure = taken;
      return d;
    }
    if (!client.continuing()) {
      ++d.connections;  // a new connection: a new server session
      client.new_connection();
      server.emplace(&account, "nonce-of-the-session", "2", "test");
    }
  }
  ADD_FAILURE() << "the dialogue did not end";
  return d;
}

ServerAccount account(SchemeSet schemes) {
  ServerAccount a;
  a.user = "alice";
  a.password = "s3cret";
  a.schemes = schemes;
  a.nonce = "feedface";  // MMSH's server-wide Digest nonce
  return a;
}

TEST(ClientAuth, EverySchemeAgainstOurServer) {
  struct Case {
    const char* name;
    SchemeSet schemes;
    bool connection_auth;
    const char* scheme;  // what the client answers with
    int requests;        // with the right password
    int connections;
  };
  const std::vector<Case> cases = {
      {"basic", kSchemeBasic, false, "Basic", 2, 2},
      {"digest", kSchemeDigest, false, "Digest", 2, 2},
      {"digest preferred to basic", kSchemeBasic | kSchemeDigest, true, "Digest", 2, 2},
      // NTLM: the first 401 offers it, the NEGOTIATE goes on a new
      // connection, the AUTHENTICATE on that same one.
      {"ntlm", kSchemeNtlm, true, "NTLM", 3, 2},
      {"ntlm preferred", kSchemeNtlm | kSchemeDigest | kSchemeBasic, true, "NTLM", 3, 2},
      {"ntlm needs a kept connection", kSchemeNtlm | kSchemeDigest, false, "Digest", 2, 2},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const ServerAccount a = account(c.schemes);
    Dialogue d = play(a, Credentials{"alice", "s3cret"}, c.connection_auth);
    EXPECT_TRUE(d.authorized) << d.failure.what();
    EXPECT_EQ(d.scheme, c.scheme);
    EXPECT_EQ(d.requests, c.requests);
    EXPECT_EQ(d.connections, c.connections);

    Dialogue wrong = play(a, Credentials{"alice", "wrong"}, c.connection_auth);
    EXPECT_FALSE(wrong.authorized);
    EXPECT_EQ(wrong.failure.code(), Code::kNotAuthorized);
    EXPECT_STREQ(wrong.failure.what(), "server rejected the credentials");
    EXPECT_EQ(wrong.failure.detail(), 401u);
  }
}

TEST(ClientAuth, NtlmWithADomainAndNoConnectionScheme) {
  const ServerAccount a = account(kSchemeNtlm);
  // The server checks the user name, whatever the domain.
  EXPECT_TRUE(play(a, Credentials{"CORP\\alice", "s3cret"}, true).authorized);
  Dialogue d = play(a, Credentials{"alice", "s3cret"}, false);
  EXPECT_FALSE(d.authorized);
  EXPECT_STREQ(d.failure.what(), "server offers no authentication scheme we speak");
}

TEST(ClientAuth, NegotiateCarriesNtlmInSpnego) {
  ServerAccount a = account(kSchemeNtlm);
  ClientAuth client("{guid}", true);
  const Credentials creds{"alice", "s3cret"};
  ServerAuth server(&a, "n", "1", "test");
  // A server that offers only Negotiate.
  ASSERT_TRUE(client.on_challenge({"Negotiate"}, 401, creds).ok());
  const std::string first = client.authorization("GET", "/", creds);
  ASSERT_EQ(first.rfind("Negotiate ", 0), 0u) << first;
  std::string token;
  ASSERT_TRUE(base64_decode(std::string_view(first).substr(10), &token));
  EXPECT_FALSE(ntlm::is_ntlmssp(ByteView::of(token)));  // SPNEGO-wrapped, not raw
  EXPECT_FALSE(server.check("GET", &first));
  ASSERT_TRUE(server.continuing());
  const std::vector<std::string> values = server.challenges();
  ASSERT_EQ(values.size(), 1u);
  EXPECT_EQ(values[0].rfind("Negotiate ", 0), 0u) << values[0];
  ASSERT_TRUE(client.on_challenge({values[0]}, 401, creds).ok());
  EXPECT_TRUE(client.continuing());
  const std::string second = client.authorization("GET", "/", creds);
  EXPECT_TRUE(server.check("GET", &second));
  EXPECT_EQ(server.failures(), 0);
}

TEST(ClientAuth, BadNtlmChallengesAreRefusedCleanly) {
  const Credentials creds{"alice", "pw"};
  for (const char* answer : {"NTLM", "NTLM !!!notbase64", "NTLM AAAA", "NTLM TlRMTVNTUAACAAAA",
                             "Negotiate oQcwBaADCgEC"}) {
    SCOPED_TRACE(answer);
    ClientAuth client("{guid}", true);
    const bool negotiate = std::string_view(answer).rfind("Negotiate", 0) == 0;
    ASSERT_TRUE(client.on_challenge({negotiate ? "Negotiate" : "NTLM"}, 401, creds).ok());
    EXPECT_FALSE(client.authorization("GET", "/", creds).empty());
    Status s = client.on_challenge({answer}, 401, creds);
    EXPECT_FALSE(s.ok());
    EXPECT_FALSE(client.continuing());
    // Nothing more is sent on this connection, and a later 401 fails.
    EXPECT_EQ(client.authorization("GET", "/", creds), "");
    EXPECT_FALSE(client.on_challenge({"NTLM"}, 401, creds).ok());
  }
}

TEST(ClientAuth, ProxyRefusalsSayProxy) {
  ClientAuth client;
  Status s = client.on_challenge({"Basic realm=\"p\""}, 407, Credentials{});
  EXPECT_STREQ(s.what(), "proxy requires authentication");
  EXPECT_EQ(s.detail(), 407u);
  ASSERT_TRUE(client.on_challenge({"Basic realm=\"p\""}, 407, Credentials{"u", "p"}).ok());
  s = client.on_challenge({"Basic realm=\"p\""}, 407, Credentials{"u", "p"});
  EXPECT_STREQ(s.what(), "proxy rejected the credentials");
}

}  // namespace
}  // namespace mms::auth
