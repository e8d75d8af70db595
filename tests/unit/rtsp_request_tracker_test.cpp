// RequestTracker and Authenticator (protocol/rtsp/request_tracker.h): CSeq
// numbering, the bounded set of outstanding requests, superseded PLAYs, and
// the 401/407 decision table with Digest and Basic. Pure: no session.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/rtsp/message_codec.h"
#include "protocol/rtsp/request_tracker.h"

namespace mms::rtsp {
namespace {

const Credentials kUser{"user", "pw"};
constexpr const char* kUri = "rtsp://127.0.0.1/a.asf";

Request request(const char* method) {
  Request r;
  r.method = method;
  r.uri = kUri;
  return r;
}

Response challenge(int status, std::vector<std::string> www_authenticate) {
  Response r;
  r.status = status;
  r.reason = reason_phrase(status);
  for (std::string& v : www_authenticate) {
    r.headers.add("WWW-Authenticate", std::move(v));
  }
  return r;
}

std::string header_of(const std::string& wire, const std::string& name) {
  Unit unit;
  Status error;
  const ByteView bytes(reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size());
  if (decode_unit(bytes, &unit, &error) != Decode::kDone || unit.kind != UnitKind::kRequest) {
    return "<undecodable>";
  }
  const std::string* v = unit.request.headers.find(name);
  return v != nullptr ? *v : std::string();
}

TEST(RtspRequestTracker, NumbersRequestsFromOneAndReplacesTheirCSeq) {
  RequestTracker t;
  Request r = request("OPTIONS");
  r.headers.add("CSeq", "99");
  RequestTracker::Stamped a = t.send(r, Sent::kOptions, 0, kUser);
  RequestTracker::Stamped b = t.send(request("DESCRIBE"), Sent::kDescribe, 0, kUser);
  EXPECT_EQ(a.cseq, 1u);
  EXPECT_EQ(b.cseq, 2u);
  EXPECT_EQ(header_of(a.wire, "CSeq"), "1");
  EXPECT_EQ(a.wire.find("99"), std::string::npos);
  EXPECT_EQ(t.last_cseq(), 2u);
  EXPECT_EQ(t.outstanding(), 2u);
}

TEST(RtspRequestTracker, RoutesEachAnswerOnceToWhatAskedForIt) {
  RequestTracker t;
  (void)t.send(request("OPTIONS"), Sent::kOptions, 0, kUser);
  (void)t.send(request("SETUP"), Sent::kSetup, 3, kUser);
  std::optional<Outstanding> setup = t.take(2);
  ASSERT_TRUE(setup.has_value());
  EXPECT_EQ(setup->what, Sent::kSetup);
  EXPECT_EQ(setup->stream, 3u);
  EXPECT_EQ(setup->request.method, "SETUP");
  EXPECT_FALSE(t.take(2).has_value());  // answered already
  EXPECT_FALSE(t.take(7).has_value());  // never sent
  t.forget_outstanding();               // a new connection
  EXPECT_FALSE(t.take(1).has_value());
}

TEST(RtspRequestTracker, ForgetsTheOldestBeyondTheLimit) {
  RequestTracker t;
  for (std::size_t i = 0; i < kMaxOutstandingRequests + 1; ++i) {
    (void)t.send(request("GET_PARAMETER"), Sent::kKeepalive, 0, kUser);
  }
  EXPECT_EQ(t.outstanding(), kMaxOutstandingRequests);
  EXPECT_FALSE(t.take(1).has_value());
  EXPECT_TRUE(t.take(2).has_value());
  EXPECT_TRUE(t.take(kMaxOutstandingRequests + 1).has_value());
}

TEST(RtspRequestTracker, OnlyTheLastPlayCounts) {
  RequestTracker t;
  const std::uint32_t first = t.send(request("PLAY"), Sent::kPlay, 0, kUser).cseq;
  (void)t.send(request("GET_PARAMETER"), Sent::kKeepalive, 0, kUser);
  EXPECT_TRUE(t.is_current_play(first));
  const std::uint32_t seek = t.send(request("PLAY"), Sent::kPlay, 0, kUser).cseq;
  EXPECT_FALSE(t.is_current_play(first));
  EXPECT_TRUE(t.is_current_play(seek));
}

// The 401/407 decision table.
struct ChallengeCase {
  const char* name;
  int status;
  std::vector<std::string> www_authenticate;
  Credentials credentials;
  Code code;           // kOk: resend with credentials
  const char* what;    // the failure's text ("" when ok)
  const char* scheme;  // the Authorization scheme used afterwards ("" when failed)
};

TEST(RtspAuthenticator, AnswersChallengesAsTheTableSays) {
  const std::string digest = "Digest realm=\"r\", nonce=\"n\"";
  const std::vector<ChallengeCase> cases = {
      {"proxy",
       407,
       {digest},
       kUser,
       Code::kNotAuthorized,
       "RTSP proxy authentication is not supported",
       ""},
      {"no user name",
       401,
       {digest},
       Credentials{},
       Code::kNotAuthorized,
       "server requires authentication",
       ""},
      {"digest", 401, {digest}, kUser, Code::kOk, "", "Digest"},
      {"basic", 401, {"Basic realm=\"r\""}, kUser, Code::kOk, "", "Basic"},
      {"digest preferred", 401, {"Basic realm=\"r\"", digest}, kUser, Code::kOk, "", "Digest"},
      {"unknown digest algorithm, basic offered",
       401,
       {"Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256", "Basic realm=\"r\""},
       kUser,
       Code::kOk,
       "",
       "Basic"},
      {"unknown digest algorithm only",
       401,
       {"Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256"},
       kUser,
       Code::kNotAuthorized,
       "server offers no authentication scheme we speak",
       ""},
      {"ntlm", 401, {"NTLM", digest}, kUser, Code::kOk, "", "NTLM"},
      {"other scheme only",
       401,
       {"Bearer"},
       kUser,
       Code::kNotAuthorized,
       "server offers no authentication scheme we speak",
       ""},
      {"no challenge",
       401,
       {},
       kUser,
       Code::kNotAuthorized,
       "server offers no authentication scheme we speak",
       ""},
      {"unterminated quote",
       401,
       {"Digest realm=\"r"},
       kUser,
       Code::kNotAuthorized,
       "server sent an unusable authentication challenge",
       ""},
  };
  for (const ChallengeCase& c : cases) {
    SCOPED_TRACE(c.name);
    RequestTracker t("{guid}");
    Status s = t.auth().on_challenge(challenge(c.status, c.www_authenticate), c.credentials);
    EXPECT_EQ(s.code(), c.code);
    EXPECT_STREQ(s.what(), c.what);
    if (!s.ok()) {
      EXPECT_EQ(s.detail(), static_cast<std::uint32_t>(c.status));
      EXPECT_FALSE(t.auth().challenged());
      continue;
    }
    EXPECT_TRUE(t.auth().challenged());
    const std::string wire = t.send(request("DESCRIBE"), Sent::kDescribe, 0, c.credentials).wire;
    const std::string authorization = header_of(wire, "Authorization");
    EXPECT_EQ(authorization.substr(0, authorization.find(' ')), c.scheme) << authorization;
  }
}

TEST(RtspAuthenticator, SendsCredentialsOnceThenFails) {
  RequestTracker t;
  const Response r = challenge(401, {"Basic realm=\"r\""});
  ASSERT_TRUE(t.auth().on_challenge(r, kUser).ok());
  Status again = t.auth().on_challenge(r, kUser);
  EXPECT_EQ(again.code(), Code::kNotAuthorized);
  EXPECT_STREQ(again.what(), "server rejected the credentials");
  t.auth().reset();  // a redirect to another server
  EXPECT_FALSE(t.auth().challenged());
  EXPECT_TRUE(t.auth().on_challenge(r, kUser).ok());
}

TEST(RtspAuthenticator, AuthorizesEveryLaterRequestAndOnlyThose) {
  RequestTracker t;
  const std::string before = t.send(request("DESCRIBE"), Sent::kDescribe, 0, kUser).wire;
  EXPECT_EQ(header_of(before, "Authorization"), "");
  ASSERT_TRUE(t.auth().on_challenge(challenge(401, {"Basic realm=\"r\""}), kUser).ok());
  Request resend = request("DESCRIBE");
  resend.headers.add("Authorization", "Basic stale");
  const std::string after = t.send(resend, Sent::kDescribe, 0, kUser).wire;
  EXPECT_EQ(header_of(after, "Authorization"), basic_authorization("user", "pw"));
  const std::string setup = t.send(request("SETUP"), Sent::kSetup, 0, kUser).wire;
  EXPECT_EQ(header_of(setup, "Authorization"), basic_authorization("user", "pw"));
}

TEST(RtspAuthenticator, DigestAnswersTheRequestItIsSentWith) {
  RequestTracker t("{guid}");
  ASSERT_TRUE(
      t.auth()
          .on_challenge(challenge(401, {"Digest realm=\"r\", nonce=\"n\", qop=\"auth\""}), kUser)
          .ok());
  Request setup = request("SETUP");
  setup.uri = "rtsp://127.0.0.1/a.asf/stream=1";
  const std::string a = header_of(t.send(setup, Sent::kSetup, 0, kUser).wire, "Authorization");
  const std::string b = header_of(t.send(setup, Sent::kSetup, 0, kUser).wire, "Authorization");
  EXPECT_NE(a.find("uri=\"rtsp://127.0.0.1/a.asf/stream=1\""), std::string::npos) << a;
  EXPECT_NE(a.find("username=\"user\""), std::string::npos) << a;
  EXPECT_NE(a, b);  // a new cnonce per request
  Result<std::vector<AuthChallenge>> parsed = parse_auth(a);
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_TRUE(digest_verify(parsed->front(), "SETUP", "pw"));
}

}  // namespace
}  // namespace mms::rtsp
