// ServerAuth (protocol/auth/server_auth.h): the server's 401 challenges and
// its check of Basic and Digest credentials, answered with the client-side
// codec (http_auth.h). Table-driven, pure.
#include "protocol/auth/server_auth.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/auth/http_auth.h"
#include "protocol/auth/ntlm.h"
#include "protocol/core/text.h"

namespace mms::auth {
namespace {

const std::string kUser = "user";
const std::string kPassword = "pw";
constexpr const char* kNonce = "0123456789abcdef";

ServerAccount account(SchemeSet schemes = kDefaultSchemes) {
  ServerAccount a;
  a.user = kUser;
  a.password = kPassword;
  a.schemes = schemes;
  return a;
}

bool check(ServerAuth* auth, const char* method, const std::string& authorization) {
  return auth->check(method, authorization.empty() ? nullptr : &authorization);
}

std::string digest_for(const char* realm, const char* nonce, const char* password,
                       const char* method) {
  Result<std::vector<AuthChallenge>> c =
      parse_auth(std::string("Digest realm=\"") + realm + "\", nonce=\"" + nonce + "\"");
  EXPECT_TRUE(c.ok());
  Result<std::string> v =
      digest_authorization(c->front(), kUser, password, method, "rtsp://127.0.0.1/a.asf", "abc");
  EXPECT_TRUE(v.ok());
  return v.ok() ? *v : std::string();
}

TEST(ServerAuth, ChecksCredentialsAsTheTableSays) {
  struct Case {
    const char* name;
    std::string authorization;  // "" : none
    const char* method;
    bool ok;
    int failures;
  };
  const std::vector<Case> cases = {
      {"no Authorization", "", "DESCRIBE", false, 0},
      {"unparsable", "Digest realm=\"r", "DESCRIBE", false, 0},
      {"basic", basic_authorization(kUser, kPassword), "DESCRIBE", true, 0},
      {"basic, wrong password", basic_authorization(kUser, "x"), "DESCRIBE", false, 1},
      {"basic, wrong user", basic_authorization("other", kPassword), "DESCRIBE", false, 1},
      {"digest", digest_for(kRealm, kNonce, "pw", "DESCRIBE"), "DESCRIBE", true, 0},
      {"digest for another method", digest_for(kRealm, kNonce, "pw", "SETUP"), "DESCRIBE", false,
       1},
      {"digest, other nonce", digest_for(kRealm, "feed", "pw", "DESCRIBE"), "DESCRIBE", false, 1},
      {"digest, other realm", digest_for("elsewhere", kNonce, "pw", "DESCRIBE"), "DESCRIBE", false,
       1},
      {"digest, wrong password", digest_for(kRealm, kNonce, "x", "DESCRIBE"), "DESCRIBE", false, 1},
      {"other scheme", "NTLM abcd", "DESCRIBE", false, 1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const ServerAccount a = account();
    ServerAuth auth(&a, kNonce, "1", "test");
    EXPECT_EQ(check(&auth, c.method, c.authorization), c.ok);
    EXPECT_EQ(auth.authorized(), c.ok);
    EXPECT_EQ(auth.failures(), c.failures);
  }
}

TEST(ServerAuth, WithoutAUserEverythingPasses) {
  const ServerAccount none;
  ServerAuth auth(&none, kNonce, "1", "test");
  EXPECT_TRUE(auth.check("DESCRIBE", nullptr));
  EXPECT_TRUE(auth.challenges().empty());
  ServerAuth unset;
  EXPECT_TRUE(unset.check("GET", nullptr));
}

TEST(ServerAuth, OnceAuthorizedTheSessionStaysSo) {
  const ServerAccount a = account();
  ServerAuth auth(&a, kNonce, "1", "test");
  ASSERT_TRUE(check(&auth, "DESCRIBE", basic_authorization(kUser, kPassword)));
  EXPECT_TRUE(auth.check("SETUP", nullptr));
}

TEST(ServerAuth, ChallengesWithDigestThenBasic) {
  const ServerAccount a = account();
  ServerAuth auth(&a, kNonce, "1", "test");
  const std::vector<std::string> values = auth.challenges();
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0], "Digest realm=\"mms-server\", nonce=\"0123456789abcdef\"");
  EXPECT_EQ(values[1], "Basic realm=\"mms-server\"");
}

TEST(ServerAuth, OffersAndAcceptsOnlyTheConfiguredSchemes) {
  const ServerAccount digest_only = account(kSchemeDigest);
  ServerAuth d(&digest_only, kNonce, "1", "test");
  EXPECT_EQ(d.challenges(),
            std::vector<std::string>{"Digest realm=\"mms-server\", nonce=\"0123456789abcdef\""});
  EXPECT_FALSE(check(&d, "GET", basic_authorization(kUser, kPassword)));
  EXPECT_EQ(d.failures(), 1);
  EXPECT_TRUE(check(&d, "GET", digest_for(kRealm, kNonce, "pw", "GET")));

  const ServerAccount basic_only = account(kSchemeBasic);
  ServerAuth b(&basic_only, kNonce, "1", "test");
  EXPECT_EQ(b.challenges(), std::vector<std::string>{"Basic realm=\"mms-server\""});
  EXPECT_FALSE(check(&b, "GET", digest_for(kRealm, kNonce, "pw", "GET")));
  EXPECT_TRUE(check(&b, "GET", basic_authorization(kUser, kPassword)));
}

TEST(ServerAuth, TheAccountNonceOutlivesSessions) {
  ServerAccount a = account();
  a.nonce = "feedfacefeedface";
  ServerAuth first(&a, kNonce, "1", "test");
  ServerAuth second(&a, "other", "2", "test");
  EXPECT_EQ(first.nonce(), "feedfacefeedface");
  // A response to the challenge of one session's 401 passes in the next one.
  EXPECT_TRUE(check(&second, "GET", digest_for(kRealm, "feedfacefeedface", "pw", "GET")));
}

TEST(ServerAuth, NtlmHandshakeOnOneConnection) {
  const ServerAccount a = account(kSchemeNtlm | kSchemeBasic);
  ServerAuth auth(&a, kNonce, "1", "test");
  EXPECT_EQ(auth.challenges(),
            (std::vector<std::string>{"Negotiate", "NTLM", "Basic realm=\"mms-server\""}));
  ntlm::ClientContext client(ntlm::Credentials{kUser, kPassword, "CORP", "WS"},
                             ntlm::Nonce8{1, 2, 3, 4, 5, 6, 7, 8}, 0);
  const std::string negotiate = "NTLM " + base64_encode(client.negotiate());
  EXPECT_FALSE(check(&auth, "GET", negotiate));
  EXPECT_TRUE(auth.continuing());
  EXPECT_EQ(auth.failures(), 0);  // a NEGOTIATE is not a failure
  const std::vector<std::string> values = auth.challenges();
  ASSERT_EQ(values.size(), 1u);
  ASSERT_EQ(values[0].rfind("NTLM ", 0), 0u);
  std::string challenge;
  ASSERT_TRUE(base64_decode(std::string_view(values[0]).substr(5), &challenge));
  EXPECT_EQ(ntlm::message_type(ByteView::of(challenge)), 2u);
  Result<std::string> answer = client.authenticate(ByteView::of(challenge));
  ASSERT_TRUE(answer.ok()) << answer.status().what();
  EXPECT_TRUE(check(&auth, "GET", "NTLM " + base64_encode(*answer)));
  EXPECT_FALSE(auth.continuing());
  EXPECT_TRUE(auth.authorized());
}

TEST(ServerAuth, BadNtlmMessagesAreFailures) {
  const ServerAccount a = account(kSchemeNtlm);
  ntlm::ClientContext client(ntlm::Credentials{kUser, "wrong", "", ""}, ntlm::Nonce8{}, 0);
  const std::string negotiate = "NTLM " + base64_encode(client.negotiate());
  for (const std::string& bad :
       {std::string("NTLM"), std::string("NTLM @@@"), std::string("NTLM AAAA"),
        std::string("Negotiate ") + base64_encode(client.negotiate()),  // raw in Negotiate: ok
        std::string("Negotiate AAAA"), std::string("NTLM TlRMTVNTUAADAAAA")}) {
    SCOPED_TRACE(bad);
    ServerAuth auth(&a, kNonce, "1", "test");
    const bool ok = check(&auth, "GET", bad);
    EXPECT_FALSE(ok);
    if (!auth.continuing()) {
      EXPECT_EQ(auth.failures(), 1);
      EXPECT_EQ(auth.challenges().size(), 2u);  // the full offer again
    }
  }
  // A wrong password in the AUTHENTICATE.
  ServerAuth auth(&a, kNonce, "1", "test");
  EXPECT_FALSE(check(&auth, "GET", negotiate));
  std::string challenge;
  ASSERT_TRUE(base64_decode(std::string_view(auth.challenges()[0]).substr(5), &challenge));
  Result<std::string> answer = client.authenticate(ByteView::of(challenge));
  ASSERT_TRUE(answer.ok());
  EXPECT_FALSE(check(&auth, "GET", "NTLM " + base64_encode(*answer)));
  EXPECT_EQ(auth.failures(), 1);
  EXPECT_FALSE(auth.authorized());
  // NTLM is not taken when not offered.
  const ServerAccount basic = account(kSchemeBasic);
  ServerAuth b(&basic, kNonce, "1", "test");
  EXPECT_FALSE(check(&b, "GET", negotiate));
  EXPECT_FALSE(b.continuing());
  EXPECT_EQ(b.failures(), 1);
}

TEST(ServerAuth, SchemeNames) {
  EXPECT_EQ(scheme_from_name("basic"), kSchemeBasic);
  EXPECT_EQ(scheme_from_name("Digest"), kSchemeDigest);
  EXPECT_EQ(scheme_from_name("NTLM"), kSchemeNtlm);
  EXPECT_EQ(scheme_from_name("kerberos"), Scheme{});
  EXPECT_EQ(scheme_from_name(""), Scheme{});
}

}  // namespace
}  // namespace mms::auth
