// ServerAuth (protocol/rtsp/server_auth.h): the server's 401 challenges and
// its check of Basic and Digest credentials, answered with the client-side
// codec (auth.h). Table-driven, pure.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/rtsp/message_codec.h"
#include "protocol/rtsp/server_auth.h"

namespace mms::rtsp {
namespace {

const std::string kUser = "user";
const std::string kPassword = "pw";
constexpr const char* kNonce = "0123456789abcdef";

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

TEST(RtspServerAuth, ChecksCredentialsAsTheTableSays) {
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
      {"digest", digest_for(kRtspRealm, kNonce, "pw", "DESCRIBE"), "DESCRIBE", true, 0},
      {"digest for another method", digest_for(kRtspRealm, kNonce, "pw", "SETUP"), "DESCRIBE",
       false, 1},
      {"digest, other nonce", digest_for(kRtspRealm, "feed", "pw", "DESCRIBE"), "DESCRIBE", false,
       1},
      {"digest, other realm", digest_for("elsewhere", kNonce, "pw", "DESCRIBE"), "DESCRIBE", false,
       1},
      {"digest, wrong password", digest_for(kRtspRealm, kNonce, "x", "DESCRIBE"), "DESCRIBE", false,
       1},
      {"other scheme", "NTLM abcd", "DESCRIBE", false, 1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ServerAuth auth(kUser, kPassword, kNonce, "1");
    Request req;
    req.method = c.method;
    req.uri = "rtsp://127.0.0.1/a.asf";
    if (!c.authorization.empty()) {
      req.headers.add("Authorization", c.authorization);
    }
    EXPECT_EQ(auth.check(req), c.ok);
    EXPECT_EQ(auth.authorized(), c.ok);
    EXPECT_EQ(auth.failures(), c.failures);
  }
}

TEST(RtspServerAuth, WithoutAUserEverythingPasses) {
  ServerAuth auth("", "", kNonce, "1");
  EXPECT_TRUE(auth.check(Request{}));
}

TEST(RtspServerAuth, OnceAuthorizedTheSessionStaysSo) {
  ServerAuth auth(kUser, kPassword, kNonce, "1");
  Request req;
  req.method = "DESCRIBE";
  req.headers.add("Authorization", basic_authorization(kUser, kPassword));
  ASSERT_TRUE(auth.check(req));
  EXPECT_TRUE(auth.check(Request{}));
}

TEST(RtspServerAuth, ChallengesWithDigestThenBasic) {
  ServerAuth auth(kUser, kPassword, kNonce, "1");
  Response resp;
  auth.challenge(&resp);
  EXPECT_EQ(resp.status, 401);
  const std::vector<std::string_view> values = resp.headers.all("WWW-Authenticate");
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0], "Digest realm=\"mms-server\", nonce=\"0123456789abcdef\"");
  EXPECT_EQ(values[1], "Basic realm=\"mms-server\"");
}

}  // namespace
}  // namespace mms::rtsp
