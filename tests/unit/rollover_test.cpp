// RolloverController: the decision table of docs/architecture.md, "Rollover and reconnect: the
// attempt runner", table-driven with made-up Instants. Each row: a URL, a protocols list, a
// sequence of outcomes, and the decisions expected after each.
#include "protocol/session/rollover.h"

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/core/url.h"

namespace mms::session {
namespace {

Url url(const char* text) {
  Result<Url> u = parse_url(text);
  EXPECT_TRUE(u.ok()) << text;
  return u.ok() ? *u : Url();
}

std::string names(const std::vector<Transport>& ts) {
  std::string s;
  for (Transport t : ts) {
    if (!s.empty()) {
      s += ",";
    }
    s += to_string(t);
  }
  return s;
}

// --- candidates ------------------------------------------------------------

struct CandidateRow {
  const char* url;
  const char* protocols;  // "" = default
  const char* expect;     // transports, or "error:<code>"
};

TEST(Rollover, CandidateTable) {
  const CandidateRow rows[] = {
      {"mms://h/a.wmv", "", "rtspu,rtspt,mmsu,mmst,mmsh"},
      {"mms://h:1755/a.wmv", "", "rtspu,rtspt,mmsu,mmst,mmsh"},
      {"rtspu://h/a.wmv", "", "rtspu"},
      {"rtspt://h/a.wmv", "", "rtspt"},
      {"rtsp://h/a.wmv", "rtspt", "rtspt"},
      {"rtsp://h/a.wmv", "mmst", "error:local-misuse"},
      {"mmsu://h/a.wmv", "", "mmsu"},
      {"mmst://h/a.wmv", "", "mmst"},
      {"mmsh://h/a.wmv", "", "mmsh"},
      {"mms://h/a.wmv", "mmst,mmsh", "mmst,mmsh"},
      {"mms://h/a.wmv", "mmsh,mmst", "mmsh,mmst"},
      {"mms://h/a.wmv", "MMSH , mmsu", "mmsh,mmsu"},
      {"mms://h/a.wmv", "mmsu,mmst,mmsh,mmst", "mmsu,mmst,mmsh"},
      {"mmst://h/a.wmv", "mmsu,mmst,mmsh", "mmst"},
      {"mmsh://h/a.wmv", "mmsu,mmst,mmsh", "mmsh"},
      {"mmsh://h/a.wmv", "mmst", "error:local-misuse"},
      {"mms://h/a.wmv", "rtspu,rtspt", "rtspu,rtspt"},
      {"mms://h/a.wmv", "rtspt,mmst", "rtspt,mmst"},
      {"rtsp://h/a.wmv", "", "rtspu,rtspt"},
      {"http://h/a.wmv", "", "mmsh"},  // a Windows Media server's http:// URL: MMSH
  };
  for (const CandidateRow& row : rows) {
    std::vector<Transport> protocols;
    if (*row.protocols != '\0') {
      Result<std::vector<Transport>> p = parse_protocols(row.protocols);
      ASSERT_TRUE(p.ok()) << row.protocols;
      protocols = *p;
    }
    Result<std::vector<Transport>> c = candidates_for(url(row.url), protocols);
    std::string got = c.ok() ? names(*c) : std::string("error:") + to_string(c.status().code());
    EXPECT_EQ(got, row.expect) << row.url << " protocols=" << row.protocols;
  }
}

TEST(Rollover, ParsesProtocolLists) {
  EXPECT_FALSE(parse_protocols("").ok());
  EXPECT_FALSE(parse_protocols(" , ").ok());
  Result<std::vector<Transport>> bad = parse_protocols("mmst,ftp");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kUnsupported);
  Result<std::vector<Transport>> ok = parse_protocols("rtspu rtspt;mmsu");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(names(*ok), "rtspu,rtspt,mmsu");
}

TEST(Rollover, OutcomeForStatus) {
  EXPECT_EQ(outcome_for(Status(Code::kNotFound, "x")), Outcome::kNotFound);
  EXPECT_EQ(outcome_for(Status(Code::kNotAuthorized, "x")), Outcome::kNotAuthorized);
  EXPECT_EQ(outcome_for(Status(Code::kRefused, "x")), Outcome::kRefused);
  EXPECT_EQ(outcome_for(Status(Code::kTimedOut, "x")), Outcome::kNoDataTimeout);
  EXPECT_EQ(outcome_for(Status(Code::kConnectionLost, "x")), Outcome::kLost);
  EXPECT_EQ(outcome_for(Status(Code::kMalformed, "x")), Outcome::kFailed);
}

// --- walks -----------------------------------------------------------------

struct Step {
  Outcome outcome;
  const char* expect;  // "continue", "try-next:<t>", "follow-redirect:<t>", "give-up:<code>"
  const char* redirect = nullptr;
  std::int64_t at_s = 1;  // seconds after start
};

struct WalkRow {
  const char* name;
  const char* url;
  const char* protocols;
  const char* first;  // transport of the first attempt
  std::vector<Step> steps;
  const char* attempts;  // attempt names at the end
};

std::string describe(const Decision& d) {
  std::string s = to_string(d.kind);
  if (d.kind == Decision::Kind::kTryNext || d.kind == Decision::Kind::kFollowRedirect) {
    s += std::string(":") + to_string(d.transport);
  } else if (d.kind == Decision::Kind::kGiveUp) {
    s += std::string(":") + to_string(d.status.code());
  }
  return s;
}

Status status_for(Outcome o) {
  switch (o) {
    case Outcome::kConnectFailed:
      return Status(Code::kRefused, "connection refused");
    case Outcome::kRefused:
      return Status(Code::kRefused, "transport refused", 0xC00D0012u);
    case Outcome::kNoDataTimeout:
      return Status(Code::kTimedOut, "no UDP data");
    case Outcome::kNotFound:
      return Status(Code::kNotFound, "file not found", 0x80070002u);
    case Outcome::kNotAuthorized:
      return Status(Code::kNotAuthorized, "access denied", 0x80070005u);
    case Outcome::kLost:
      return Status(Code::kConnectionLost, "lost");
    case Outcome::kFailed:
      return Status(Code::kMalformed, "bad data");
    default:
      return Status();
  }
}

TEST(Rollover, WalkTable) {
  const WalkRow rows[] = {
      {"full walk: rtsp refused twice, udp silent",
       "mms://h/a",
       "",
       "rtspu",
       {{Outcome::kRefused, "try-next:rtspt"},
        {Outcome::kRefused, "try-next:mmsu"},
        {Outcome::kNoDataTimeout, "try-next:mmst"},
        {Outcome::kFirstMediaPacket, "continue"}},
       "rtspu,rtspt,mmsu,mmst"},
      {"rtsp control connection failing skips rtspt",
       "mms://h/a",
       "",
       "rtspu",
       {{Outcome::kConnectFailed, "try-next:mmsu"}, {Outcome::kFirstMediaPacket, "continue"}},
       "rtspu,rtspt,mmsu"},
      {"rtp over udp silent rolls to rtspt",
       "mms://h/a",
       "",
       "rtspu",
       {{Outcome::kNoDataTimeout, "try-next:rtspt"},
        {Outcome::kEstablished, "continue"},
        {Outcome::kFirstMediaPacket, "continue"}},
       "rtspu,rtspt"},
      {"rtsp:// with no server gives up after the skip",
       "rtsp://h/a",
       "",
       "rtspu",
       {{Outcome::kConnectFailed, "give-up:refused"}},
       "rtspu,rtspt"},
      {"not found over rtsp stops the walk",
       "mms://h/a",
       "",
       "rtspu",
       {{Outcome::kNotFound, "give-up:not-found"}},
       "rtspu"},
      {"connect failure of rtspt alone does not skip mms",
       "mms://h/a",
       "rtspt,mmsu",
       "rtspt",
       {{Outcome::kConnectFailed, "try-next:mmsu"}},
       "rtspt,mmsu"},
      {"udp silent rolls to tcp",
       "mms://h/a",
       "mmsu,mmst,mmsh",
       "mmsu",
       {{Outcome::kNoDataTimeout, "try-next:mmst"},
        {Outcome::kEstablished, "continue"},
        {Outcome::kFirstMediaPacket, "continue"}},
       "mmsu,mmst"},
      {"mms refused rolls to mmsh",
       "mms://h/a",
       "mmsu,mmst,mmsh",
       "mmsu",
       {{Outcome::kRefused, "try-next:mmst"},
        {Outcome::kConnectFailed, "try-next:mmsh"},
        {Outcome::kFirstMediaPacket, "continue"}},
       "mmsu,mmst,mmsh"},
      {"all fail gives up with the last failure",
       "mms://h/a",
       "mmsu,mmst,mmsh",
       "mmsu",
       {{Outcome::kNoDataTimeout, "try-next:mmst"},
        {Outcome::kRefused, "try-next:mmsh"},
        {Outcome::kConnectFailed, "give-up:refused"}},
       "mmsu,mmst,mmsh"},
      {"not found stops the walk",
       "mms://h/a",
       "mmsu,mmst,mmsh",
       "mmsu",
       {{Outcome::kNotFound, "give-up:not-found"}},
       "mmsu"},
      {"not authorized stops the walk",
       "mms://h/a",
       "mmsu,mmst,mmsh",
       "mmsu",
       {{Outcome::kRefused, "try-next:mmst"}, {Outcome::kNotAuthorized, "give-up:not-authorized"}},
       "mmsu,mmst"},
      {"no rollover after media",
       "mms://h/a",
       "mmsu,mmst,mmsh",
       "mmsu",
       {{Outcome::kFirstMediaPacket, "continue"}, {Outcome::kLost, "give-up:connection-lost"}},
       "mmsu"},
      {"lost before media rolls over",
       "mms://h/a",
       "mmsu,mmst,mmsh",
       "mmsu",
       {{Outcome::kEstablished, "continue"}, {Outcome::kLost, "try-next:mmst"}},
       "mmsu,mmst"},
      {"pinned transport gives up at once",
       "mmst://h/a",
       "",
       "mmst",
       {{Outcome::kRefused, "give-up:refused"}},
       "mmst"},
      {"protocols order",
       "mms://h/a",
       "mmsh,mmst",
       "mmsh",
       {{Outcome::kFailed, "try-next:mmst"}, {Outcome::kFailed, "give-up:malformed"}},
       "mmsh,mmst"},
      {"redirect restarts with the new scheme",
       "mms://h/a",
       "mmsu,mmst,mmsh",
       "mmsu",
       {{Outcome::kRedirect, "follow-redirect:mmsh", "mmsh://h2/b"},
        {Outcome::kRefused, "give-up:refused"}},
       "mmsu,mmsh"},
      {"redirect to mms walks again",
       "mmst://h/a",
       "",
       "mmst",
       {{Outcome::kRedirect, "follow-redirect:rtspu", "mms://h2/b"},
        {Outcome::kNoDataTimeout, "try-next:rtspt"}},
       "mmst,rtspu,rtspt"},
      {"redirect without a URL",
       "mms://h/a",
       "mmsu,mmst,mmsh",
       "mmsu",
       {{Outcome::kRedirect, "give-up:peer-violation"}},
       "mmsu"},
      {"redirect to http:// is MMSH",
       "mms://h/a",
       "mmsu,mmst,mmsh",
       "mmsu",
       {{Outcome::kRedirect, "follow-redirect:mmsh", "http://h2/b"}},
       "mmsu,mmsh"},
      {"redirect to an unknown scheme",
       "mms://h/a",
       "mmsu,mmst,mmsh",
       "mmsu",
       {{Outcome::kRedirect, "give-up:unsupported", "ftp://h2/b"}},
       "mmsu"},
      {"total time bound",
       "mms://h/a",
       "mmsu,mmst,mmsh",
       "mmsu",
       {{Outcome::kNoDataTimeout, "give-up:timed-out", nullptr, 120}},
       "mmsu"},
  };
  for (const WalkRow& row : rows) {
    SCOPED_TRACE(row.name);
    std::vector<Transport> protocols;
    if (*row.protocols != '\0') {
      protocols = *parse_protocols(row.protocols);
    }
    RolloverController::Options opt;
    opt.total_timeout = 60 * kSecond;
    Result<RolloverController> rc = RolloverController::create(url(row.url), protocols, opt);
    ASSERT_TRUE(rc.ok());
    Instant t0{1000};
    Decision d = rc->start(t0);
    EXPECT_EQ(describe(d), std::string("try-next:") + row.first);
    EXPECT_EQ(d.url.scheme, row.first);
    for (const Step& s : row.steps) {
      Url target;
      const Url* rp = nullptr;
      if (s.redirect != nullptr) {
        Result<Url> parsed = parse_url(s.redirect);
        if (parsed.ok()) {
          target = *parsed;
        } else {  // a scheme no transport speaks: only the table can refuse it
          target = *parse_url(std::string("mmsh") + std::strchr(s.redirect, ':'));
          target.scheme = std::string(s.redirect, std::strchr(s.redirect, ':'));
        }
        rp = &target;
      }
      Status st = s.outcome == Outcome::kRedirect ? Status() : status_for(s.outcome);
      d = rc->on_outcome(s.outcome, t0 + s.at_s * kSecond, st, rp);
      EXPECT_EQ(describe(d), s.expect) << to_string(s.outcome);
    }
    std::string got;
    for (const std::string& n : rc->attempt_names()) {
      got += (got.empty() ? "" : ",") + n;
    }
    EXPECT_EQ(got, row.attempts);
  }
}

TEST(Rollover, AttemptUrlsKeepHostPortPathAndCredentials) {
  Result<RolloverController> rc =
      RolloverController::create(url("mms://u:p@h:8554/dir/a.wmv?x=1"), {});
  ASSERT_TRUE(rc.ok());
  Decision d = rc->start(Instant{0});
  EXPECT_EQ(d.url.scheme, "rtspu");
  EXPECT_EQ(d.url.host, "h");
  EXPECT_EQ(d.url.port, 8554);  // an explicit port applies to every transport
  EXPECT_EQ(d.url.path, "/dir/a.wmv?x=1");
  EXPECT_EQ(d.url.user, "u");
  d = rc->on_outcome(Outcome::kNoDataTimeout, Instant{1}, Status(Code::kTimedOut, "t"));
  EXPECT_EQ(d.url.scheme, "rtspt");
  d = rc->on_outcome(Outcome::kRefused, Instant{2}, Status(Code::kRefused, "r"));
  EXPECT_EQ(d.url.scheme, "mmsu");
  d = rc->on_outcome(Outcome::kNoDataTimeout, Instant{3}, Status(Code::kTimedOut, "t"));
  d = rc->on_outcome(Outcome::kRefused, Instant{4}, Status(Code::kRefused, "r"));
  ASSERT_EQ(d.kind, Decision::Kind::kTryNext);
  EXPECT_EQ(d.url.scheme, "mmsh");
  EXPECT_EQ(d.url.port, 8554);
  Result<RolloverController> rc2 = RolloverController::create(url("mms://h/a.wmv"), {});
  Decision d2 = rc2->start(Instant{0});
  EXPECT_EQ(d2.url.port, 0);  // default port of each transport
  EXPECT_EQ(d2.url.effective_port(), 554);
}

TEST(Rollover, AttemptsAreBounded) {
  RolloverController::Options opt;
  opt.max_attempts = 3;
  Result<RolloverController> rc = RolloverController::create(url("mmst://h/a"), {}, opt);
  ASSERT_TRUE(rc.ok());
  Decision d = rc->start(Instant{0});
  Url loop = url("mmst://h/a");
  d = rc->on_outcome(Outcome::kRedirect, Instant{1}, Status(), &loop);
  EXPECT_EQ(d.kind, Decision::Kind::kFollowRedirect);
  d = rc->on_outcome(Outcome::kRedirect, Instant{2}, Status(), &loop);
  EXPECT_EQ(d.kind, Decision::Kind::kFollowRedirect);
  d = rc->on_outcome(Outcome::kRedirect, Instant{3}, Status(), &loop);
  ASSERT_EQ(d.kind, Decision::Kind::kGiveUp);
  EXPECT_EQ(d.status.code(), Code::kLimitExceeded);
  // Sticky.
  d = rc->on_outcome(Outcome::kEstablished, Instant{4});
  EXPECT_EQ(d.kind, Decision::Kind::kGiveUp);
}

TEST(Rollover, RedirectCountIsBounded) {
  RolloverController::Options opt;
  opt.max_redirects = 2;
  Result<RolloverController> rc = RolloverController::create(url("mmst://h/a"), {}, opt);
  Decision d = rc->start(Instant{0});
  Url loop = url("mmst://h/a");
  for (int i = 0; i < 2; ++i) {
    d = rc->on_outcome(Outcome::kRedirect, Instant{1}, Status(), &loop);
    EXPECT_EQ(d.kind, Decision::Kind::kFollowRedirect);
  }
  d = rc->on_outcome(Outcome::kRedirect, Instant{1}, Status(), &loop);
  ASSERT_EQ(d.kind, Decision::Kind::kGiveUp);
  EXPECT_EQ(d.status.code(), Code::kLimitExceeded);
}

TEST(Rollover, OutcomeBeforeStartIsMisuse) {
  Result<RolloverController> rc = RolloverController::create(url("mms://h/a"), {});
  Decision d = rc->on_outcome(Outcome::kRefused, Instant{0});
  EXPECT_EQ(d.kind, Decision::Kind::kGiveUp);
  EXPECT_EQ(d.status.code(), Code::kLocalMisuse);
}

TEST(Rollover, ThroughAProxyUdpStepsAreSkipped) {
  RolloverController::Options opt;
  opt.via_proxy = true;
  Result<RolloverController> c = RolloverController::create(url("mms://h/a.wmv"), {}, opt);
  ASSERT_TRUE(c.ok());
  Decision d = c->start(Instant{});
  EXPECT_EQ(d.kind, Decision::Kind::kTryNext);
  EXPECT_EQ(d.transport, Transport::kRtspTcp);
  ASSERT_EQ(c->attempts().size(), 2u);
  EXPECT_TRUE(c->attempts()[0].skipped);
  EXPECT_EQ(c->attempts()[0].transport, Transport::kRtspUdp);
  d = c->on_outcome(Outcome::kConnectFailed, Instant{}, Status(Code::kRefused, "refused"));
  EXPECT_EQ(d.transport, Transport::kMmsTcp);
  d = c->on_outcome(Outcome::kRefused, Instant{}, Status(Code::kRefused, "refused"));
  EXPECT_EQ(d.transport, Transport::kMmsh);
  EXPECT_EQ(c->attempt_names(),
            (std::vector<std::string>{"rtspu", "rtspt", "mmsu", "mmst", "mmsh"}));
  // A redirect to a UDP-only URL gives up.
  Url to = url("mmsu://other/a.wmv");
  d = c->on_outcome(Outcome::kRedirect, Instant{}, Status(Code::kRefused, "redirected"), &to);
  EXPECT_EQ(d.kind, Decision::Kind::kGiveUp);
  EXPECT_EQ(d.status.code(), Code::kUnsupported);
}

}  // namespace
}  // namespace mms::session
