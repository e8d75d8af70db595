// ServerAuth (protocol/auth/server_auth.h): the server's 401 challenges and
// its check of Basic and Digest credentials, answered with the client-side
// codec (http_auth.h). Table-driven, pure.
#include "protocol/auth/server_auth.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/auth/http_auth.h"

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

TEST(ServerAuth, SchemeNames) {
  EXPECT_EQ(scheme_from_name("basic"), kSchemeBasic);
  EXPECT_EQ(scheme_from_name("Digest"), kSchemeDigest);
  EXPECT_EQ(scheme_from_name("kerberos"), Scheme{});
  EXPECT_EQ(scheme_from_name(""), Scheme{});
}

}  // namespace
}  // namespace mms::auth
