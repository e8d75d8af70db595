// MMSH server session: requests in, framed responses out, no sockets.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/asf/header_parser.h"
#include "protocol/asf/packet.h"
#include "protocol/auth/http_auth.h"
#include "protocol/core/text.h"
#include "protocol/mmsh/framing.h"
#include "protocol/mmsh/http_codec.h"
#include "protocol/mmsh/server_session.h"
#include "protocol/session/metadata.h"
#include "tests/support/memory_source.h"

namespace mms::mmsh {
namespace {

using server::Content;

using mms_test::MemorySource;
using mms_test::read_fixture;

struct Output {
  HttpResponse head;
  std::vector<std::uint8_t> body;
  std::vector<Frame> frames;  // payload views alias `body`
  bool frames_ok = true;
  bool closed = false;
  std::size_t head_bytes = 0;  // of the response head
};

constexpr const char* kFfmpegPlay =
    "GET /small.asf HTTP/1.1\r\n"
    "Range: bytes=0-\r\n"
    "Connection: close\r\n"
    "Icy-MetaData: 1\r\n"
    "Accept: */*\r\n"
    "User-Agent: NSPlayer/4.1.0.3856\r\n"
    "Host: 127.0.0.1:8080\r\n"
    "Pragma: no-cache,rate=1.000000,request-context=2\r\n"
    "Pragma: xPlayStrm=1\r\n"
    "Pragma: xClientGUID={c77e7400-738a-11d2-9add-0020af0a3278}\r\n"
    "Pragma: stream-switch-count=2\r\n"
    "Pragma: stream-switch-entry=ffff:1:0 ffff:2:0 \r\n"
    "Pragma: no-cache,rate=1.000000,stream-time=0Connection: Close\r\n"
    "\r\n";

std::string request(const std::string& path, const std::vector<std::string>& pragmas,
                    const std::string& extra = "", const std::string& method = "GET") {
  std::string r = method + " " + path +
                  " HTTP/1.0\r\nAccept: */*\r\n"
                  "User-Agent: NSPlayer/7.10.0.3059\r\nHost: 127.0.0.1\r\n";
  for (const std::string& p : pragmas) {
    r += "Pragma: " + p + "\r\n";
  }
  return r + extra + "Connection: Close\r\n\r\n";
}

std::string play(const std::string& position = "stream-time=0,stream-offset=0:0",
                 const std::string& extra_pragma = "") {
  std::vector<std::string> p = {"no-cache,rate=1.000000," + position + ",request-context=2",
                                "xPlayStrm=1", "xClientGUID={0xbabac001-0xb05b-0x60ab-0x68e6}"};
  if (!extra_pragma.empty()) {
    p.push_back(extra_pragma);
  }
  return request("/small.asf", p);
}

class ServerSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = read_fixture("small.asf");
    ASSERT_FALSE(file_.empty());
    auto c = Content::create("small.asf", file_, false);
    ASSERT_TRUE(c.ok()) << c.status().what();
    content_ = *c;
    source_.items["/small.asf"] = content_;
    auto live = Content::create("live", file_, true);
    ASSERT_TRUE(live.ok());
    source_.items["/live"] = *live;
    config_.content = &source_;
    config_.fast = true;
  }

  // Feeds `req` in pieces of `step` bytes (0 = whole) and drains the output,
  // advancing the clock to each deadline until the session closes or `until`.
  Output run(const std::string& req, std::size_t step = 0, Instant until = Instant{kSecond * 60},
             std::uint32_t client_id = 42) {
    ServerSession s(&config_, client_id, Instant{0});
    Output out;
    Instant now{0};
    std::string buf;
    std::size_t fed = 0;
    const std::size_t chunk = step == 0 ? req.size() : step;
    while (fed < req.size()) {
      const std::size_t n = std::min(chunk, req.size() - fed);
      buf.append(req, fed, n);
      fed += n;
      auto r = s.on_bytes(ByteView::of(buf), now);
      if (r.ok()) {
        buf.erase(0, *r);
      } else {
        buf.clear();
      }
    }
    for (int guard = 0; guard < 1000000; ++guard) {
      ByteView v = s.next_output(now);
      if (!v.empty()) {
        // Write in odd-sized pieces to exercise partial writes.
        const std::size_t w = std::min<std::size_t>(v.size(), 70001);
        out.body.insert(out.body.end(), v.begin(), v.begin() + w);
        s.consume_output(w);
        continue;
      }
      if (s.wants_close()) {
        out.closed = true;
        break;
      }
      auto d = s.next_deadline();
      if (!d || *d > until) {
        break;
      }
      now = std::max(now, *d);
      s.on_timeout(now);
    }
    last_start_packet_ = s.start_packet();
    std::size_t head_len = 0;
    Status err;
    if (parse_response_head(ByteView(out.body), &out.head, &head_len, &err) != Decode::kDone) {
      out.frames_ok = false;
      return out;
    }
    out.head_bytes = head_len;
    out.body.erase(out.body.begin(), out.body.begin() + static_cast<std::ptrdiff_t>(head_len));
    ByteView rest(out.body);
    FrameContext ctx;
    while (!rest.empty()) {
      Frame f;
      const Decode d = decode_frame(rest, &f, &err, &ctx);
      if (d != Decode::kDone) {
        out.frames_ok = false;
        break;
      }
      out.frames.push_back(f);
      rest = rest.subview(f.wire_size);
    }
    return out;
  }

  std::string pragma_line(const Output& o) {
    const std::string* p = o.head.headers.find("Pragma");
    return p == nullptr ? std::string() : *p;
  }
  std::vector<const Frame*> frames_of(const Output& o, std::uint8_t type) {
    std::vector<const Frame*> v;
    for (const Frame& f : o.frames) {
      if (f.type == type) {
        v.push_back(&f);
      }
    }
    return v;
  }
  ByteView file_header() const { return ByteView(file_.data(), content_->layout().header_bytes); }

  std::vector<std::uint8_t> file_;
  std::shared_ptr<const Content> content_;
  MemorySource source_;
  ServerConfig config_;
  std::int64_t last_start_packet_ = -1;
};

TEST_F(ServerSessionTest, DescribeSendsHeaderWithContentLength) {
  Output o = run(request("/small.asf", {"no-cache,rate=1.000000,stream-time=0,stream-offset=0:0,"
                                        "request-context=1,max-duration=0"}));
  ASSERT_TRUE(o.frames_ok);
  EXPECT_TRUE(o.closed);
  EXPECT_EQ(o.head.status, 200);
  EXPECT_EQ(o.head.reason, "OK");
  EXPECT_EQ(o.head.version_minor, 0);
  EXPECT_EQ(*o.head.headers.find("Server"), "Cougar/9.01.01.3814");
  EXPECT_EQ(*o.head.headers.find("Content-Type"), "application/vnd.ms.wms-hdr.asfv1");
  EXPECT_EQ(*o.head.headers.find("Content-Length"), std::to_string(o.body.size()));
  EXPECT_EQ(*o.head.headers.find("Cache-Control"), "no-cache");
  EXPECT_EQ(pragma_line(o), "no-cache,client-id=42,features=\"seekable\",timeout=60000");
  ASSERT_EQ(o.frames.size(), 1u);
  EXPECT_EQ(o.frames[0].type, kFrameHeader);
  EXPECT_EQ(o.frames[0].af_flags, 0x0C);
  EXPECT_EQ(o.frames[0].payload.to_vector(), file_header().to_vector());
}

// MS-WMSP 2.2.3.7: asked for, the Describe body starts with three $P whose
// Reason is the head's size; head + the first $P make 512 bytes.
TEST_F(ServerSessionTest, DescribeWithPacketPairSendsThreePairFramesFirst) {
  const std::string describe =
      request("/small.asf", {"no-cache,rate=1.000000,stream-time=0,stream-offset=0:0,"
                             "request-context=1,max-duration=0",
                             "packet-pair-experiment=1"});
  Output o = run(describe);
  ASSERT_TRUE(o.frames_ok);
  EXPECT_EQ(*o.head.headers.find("Content-Length"), std::to_string(o.body.size()));
  const std::vector<std::string_view> pragmas = o.head.headers.all("Pragma");
  EXPECT_NE(std::find(pragmas.begin(), pragmas.end(), "packet-pair-experiment=1"), pragmas.end());
  ASSERT_EQ(o.frames.size(), 4u);
  ASSERT_LT(o.head_bytes, 504u);
  const std::uint32_t r = static_cast<std::uint32_t>(o.head_bytes);
  const std::uint16_t lengths[3] = {504, 504, 1048};
  const std::size_t wire[3] = {512 - r, 512, 1056 + r};
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(o.frames[i].type, kFramePacketPair);
    EXPECT_EQ(o.frames[i].length, lengths[i]);
    EXPECT_EQ(o.frames[i].reason, r);
    EXPECT_EQ(o.frames[i].wire_size, wire[i]);
  }
  EXPECT_EQ(o.head_bytes + o.frames[0].wire_size, 512u);
  EXPECT_EQ(o.frames[3].type, kFrameHeader);
  EXPECT_EQ(o.frames[3].payload.to_vector(), file_header().to_vector());
  // Not granted when the server is told not to, nor when not asked.
  config_.packet_pair = false;
  Output off = run(describe);
  ASSERT_EQ(off.frames.size(), 1u);
  EXPECT_EQ(off.frames[0].type, kFrameHeader);
}

TEST_F(ServerSessionTest, PlaySendsEveryPacketStrippedThenEnd) {
  Output o = run(play());
  ASSERT_TRUE(o.frames_ok);
  EXPECT_TRUE(o.closed);
  EXPECT_EQ(o.head.status, 200);
  EXPECT_EQ(*o.head.headers.find("Content-Type"), "application/x-mms-framed");
  EXPECT_EQ(o.head.headers.find("Content-Length"), nullptr);
  ASSERT_GE(o.frames.size(), 3u);
  EXPECT_EQ(o.frames.front().type, kFrameHeader);
  EXPECT_EQ(o.frames.front().payload.to_vector(), file_header().to_vector());
  EXPECT_EQ(o.frames.back().type, kFrameEnd);
  EXPECT_EQ(o.frames.back().reason, 0u);
  auto data = frames_of(o, kFrameData);
  ASSERT_EQ(data.size(), content_->packet_count());
  bool some_shorter = false;
  for (std::uint32_t i = 0; i < data.size(); ++i) {
    EXPECT_EQ(data[i]->location_id, i);
    EXPECT_EQ(data[i]->af_flags, static_cast<std::uint8_t>(i));
    std::vector<std::uint8_t> stripped;
    ASSERT_TRUE(asf::strip_padding(content_->packet(i), content_->packet_size(), &stripped).ok());
    EXPECT_EQ(data[i]->payload.to_vector(), stripped);
    some_shorter = some_shorter || data[i]->payload.size() < content_->packet_size();
    // The client's re-padding restores a packet a demuxer accepts.
    EXPECT_TRUE(asf::parse_packet(data[i]->payload, content_->packet_size()).ok());
  }
  EXPECT_TRUE(some_shorter);
}

TEST_F(ServerSessionTest, KeepPaddingSendsFullPackets) {
  config_.keep_padding = true;
  Output o = run(play());
  auto data = frames_of(o, kFrameData);
  ASSERT_EQ(data.size(), content_->packet_count());
  for (std::uint32_t i = 0; i < data.size(); ++i) {
    EXPECT_EQ(data[i]->payload.to_vector(), content_->packet(i).to_vector());
  }
}

TEST_F(ServerSessionTest, SeekByStreamTimeStartsAtKeyFrameBeforeTarget) {
  const std::uint32_t t = 1500;
  Output o = run(play("stream-time=" + std::to_string(t) +
                      ",stream-offset=4294967295:4294967295,packet-num=4294967295"));
  auto data = frames_of(o, kFrameData);
  ASSERT_FALSE(data.empty());
  const std::uint32_t first = data[0]->location_id;
  EXPECT_GT(first, 0u);
  const std::uint64_t target = t + content_->info().preroll_ms;
  // The start packet holds a key frame presented at or before the target...
  auto p = asf::parse_packet(content_->packet(first), content_->packet_size());
  ASSERT_TRUE(p.ok());
  bool key_at_or_before = false;
  for (const asf::PayloadInfo& pl : p->payloads) {
    key_at_or_before = key_at_or_before || (pl.keyframe && pl.object_offset == 0 &&
                                            pl.stream == 1 && pl.presentation_ms <= target);
  }
  EXPECT_TRUE(key_at_or_before);
  EXPECT_TRUE(content_->meta(first).key);
  // ... and no later key frame is.
  for (std::uint32_t i = first + 1; i < content_->packet_count(); ++i) {
    if (content_->meta(i).key) {
      EXPECT_GT(content_->meta(i).presentation_ms, target) << i;
    }
  }
  EXPECT_EQ(data.size(), content_->packet_count() - first);
  EXPECT_EQ(data[0]->af_flags, 0);  // the $D counter starts at 0 for every Play
}

TEST_F(ServerSessionTest, PacketNumAndStreamOffsetPositions) {
  Output o = run(play("stream-time=0,packet-num=7"));
  auto data = frames_of(o, kFrameData);
  ASSERT_FALSE(data.empty());
  EXPECT_EQ(data[0]->location_id, 7u);

  // libmms style (n + 1) x packet_size and spec style header + n x packet_size.
  const std::size_t ps = content_->packet_size();
  o = run(play("stream-time=0,stream-offset=0:" + std::to_string(5 * ps)));
  data = frames_of(o, kFrameData);
  ASSERT_FALSE(data.empty());
  EXPECT_EQ(data[0]->location_id, 5u);
  o = run(play("stream-time=0,stream-offset=0:" +
               std::to_string(content_->layout().first_packet + 3 * ps)));
  data = frames_of(o, kFrameData);
  ASSERT_FALSE(data.empty());
  EXPECT_EQ(data[0]->location_id, 3u);
}

TEST_F(ServerSessionTest, PositionBeyondEndSendsImmediateEnd) {
  for (const char* pos : {"stream-time=0,packet-num=100000", "stream-time=999999"}) {
    Output o = run(play(pos));
    ASSERT_EQ(o.frames.size(), 2u) << pos;
    EXPECT_EQ(o.frames[0].type, kFrameHeader);
    EXPECT_EQ(o.frames[1].type, kFrameEnd);
  }
}

TEST_F(ServerSessionTest, StreamSelectionFiltersPayloads) {
  Output o = run(play("stream-time=0", "stream-switch-entry=ffff:1:2 ffff:2:0"));
  auto data = frames_of(o, kFrameData);
  ASSERT_FALSE(data.empty());
  EXPECT_LT(data.size(), content_->packet_count() + 1);
  std::uint32_t prev = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    auto p = asf::parse_packet(data[i]->payload, content_->packet_size());
    ASSERT_TRUE(p.ok());
    for (const asf::PayloadInfo& pl : p->payloads) {
      EXPECT_EQ(pl.stream, 2);
    }
    if (i > 0) {
      EXPECT_GT(data[i]->location_id, prev);
    }
    prev = data[i]->location_id;
    EXPECT_EQ(data[i]->af_flags, static_cast<std::uint8_t>(i));
  }
}

TEST_F(ServerSessionTest, FfmpegMalformedPlayRequestIsAccepted) {
  Output o = run(kFfmpegPlay);
  ASSERT_TRUE(o.frames_ok);
  EXPECT_EQ(o.head.status, 200);
  EXPECT_EQ(frames_of(o, kFrameData).size(), content_->packet_count());
}

TEST_F(ServerSessionTest, UnknownPathIs404WithReasonPhrase) {
  Output o = run(request("/nope.asf", {"no-cache"}));
  EXPECT_EQ(o.head.status, 404);
  EXPECT_EQ(o.head.reason, "Not Found");
  EXPECT_TRUE(o.frames.empty());
  EXPECT_TRUE(o.closed);
}

TEST_F(ServerSessionTest, BasicAuthentication) {
  config_.auth.user = "user";
  config_.auth.password = "secret";
  config_.auth.schemes = auth::kSchemeBasic;
  Output o = run(request("/small.asf", {"no-cache"}));
  EXPECT_EQ(o.head.status, 401);
  EXPECT_EQ(o.head.reason, "Unauthorized");
  EXPECT_EQ(o.head.headers.all("WWW-Authenticate"),
            std::vector<std::string_view>{"Basic realm=\"mms-server\""});
  o = run(request("/small.asf", {"no-cache"},
                  "Authorization: Basic " + base64_encode("user:wrong") + "\r\n"));
  EXPECT_EQ(o.head.status, 401);
  o = run(request("/small.asf", {"no-cache"},
                  "Authorization: Basic " + base64_encode("user:secret") + "\r\n"));
  EXPECT_EQ(o.head.status, 200);
  EXPECT_EQ(o.frames.size(), 1u);
}

// Digest (RFC 2617) with the account's nonce: the 401 of one connection is
// answered on the next one, as MMSH clients open a connection per request.
TEST_F(ServerSessionTest, DigestAuthentication) {
  config_.auth.user = "user";
  config_.auth.password = "secret";
  config_.auth.nonce = "00c0ffee00c0ffee";
  Output o = run(request("/small.asf", {"no-cache"}));
  EXPECT_EQ(o.head.status, 401);
  const std::vector<std::string_view> offered = o.head.headers.all("WWW-Authenticate");
  ASSERT_EQ(offered.size(), 2u);
  EXPECT_EQ(offered[0], "Digest realm=\"mms-server\", nonce=\"00c0ffee00c0ffee\"");
  EXPECT_EQ(offered[1], "Basic realm=\"mms-server\"");
  Result<std::vector<auth::AuthChallenge>> challenge = auth::parse_auth(offered[0]);
  ASSERT_TRUE(challenge.ok());
  for (const char* password : {"wrong", "secret"}) {
    SCOPED_TRACE(password);
    Result<std::string> answer = auth::digest_authorization(challenge->front(), "user", password,
                                                            "GET", "/small.asf", "0a4f113b");
    ASSERT_TRUE(answer.ok());
    o = run(request("/small.asf", {"no-cache"}, "Authorization: " + *answer + "\r\n"));
    EXPECT_EQ(o.head.status, std::string_view(password) == "secret" ? 200 : 401);
  }
  EXPECT_EQ(o.frames.size(), 1u);
  // Only the offered schemes pass.
  config_.auth.schemes = auth::kSchemeDigest;
  o = run(request("/small.asf", {"no-cache"},
                  "Authorization: Basic " + base64_encode("user:secret") + "\r\n"));
  EXPECT_EQ(o.head.status, 401);
  EXPECT_EQ(o.head.headers.all("WWW-Authenticate").size(), 1u);
}

TEST_F(ServerSessionTest, AccessHookSeesPathAndQueryAndRefusesWith403) {
  std::vector<std::string> seen;
  config_.authorize = [&seen](std::string_view pq) {
    seen.emplace_back(pq);
    return pq.find("ok=1") != std::string_view::npos;
  };
  Output o = run(request("/small.asf?ok=0", {"no-cache"}));
  EXPECT_EQ(o.head.status, 403);
  EXPECT_EQ(o.head.reason, "Forbidden");
  EXPECT_TRUE(o.frames.empty());
  EXPECT_TRUE(o.closed);
  // The query does not take part in the lookup; the proxy form gives the same path.
  o = run(request("http://127.0.0.1:8080/small.asf?ok=1", {"no-cache"}));
  EXPECT_EQ(o.head.status, 200);
  EXPECT_EQ(o.frames.size(), 1u);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], "/small.asf?ok=0");
  EXPECT_EQ(seen[1], "/small.asf?ok=1");
}

TEST_F(ServerSessionTest, RedirectAnswers302) {
  config_.redirects["old.asf"] = "mmsh://127.0.0.1:1/small.asf";
  Output o = run(request("/old.asf", {"no-cache"}));
  EXPECT_EQ(o.head.status, 302);
  EXPECT_EQ(o.head.reason, "Found");
  EXPECT_EQ(*o.head.headers.find("Location"), "mmsh://127.0.0.1:1/small.asf");
}

TEST_F(ServerSessionTest, PostKeepAliveAndLog) {
  Output o = run(request("/small.asf", {"xKeepAliveInPause=1", "client-id=42", "no-cache"},
                         "Content-Length: 0\r\n", "POST"));
  EXPECT_EQ(o.head.status, 200);
  o = run(request("/small.asf", {"client-id=42", "no-cache", "log-line=a b c"},
                  "Content-Length: 0\r\n", "POST"));
  EXPECT_EQ(o.head.status, 204);
  EXPECT_EQ(o.head.reason, "No Content");
}

// Feeds `reqs` at once into one session and drains it like the listener:
// unconsumed input is offered again once the output is written.
std::string drain_connection(ServerSession* s, std::string buf) {
  std::string out;
  Instant now{0};
  for (int guard = 0; guard < 100000; ++guard) {
    if (!buf.empty()) {
      auto r = s->on_bytes(ByteView::of(buf), now);
      buf.erase(0, r.ok() ? *r : buf.size());
    }
    ByteView v = s->next_output(now);
    if (!v.empty()) {
      out.append(reinterpret_cast<const char*>(v.data()), v.size());
      s->consume_output(v.size());
      continue;
    }
    if (s->wants_close() || buf.empty()) {
      break;
    }
  }
  return out;
}

std::string keep_alive_request(const std::string& method, const std::string& pragma,
                               const std::string& extra = "") {
  return method +
         " /small.asf HTTP/1.1\r\nUser-Agent: NSPlayer/7.10.0.3059\r\nHost: 127.0.0.1\r\n"
         "Pragma: " +
         pragma + "\r\n" + extra + "\r\n";
}

TEST_F(ServerSessionTest, KeepAliveDescribeThenPlayOnOneConnection) {
  ServerSession s(&config_, 42, Instant{0});
  const std::string out =
      drain_connection(&s, keep_alive_request("GET", "no-cache") +
                               keep_alive_request("GET", "no-cache,xPlayStrm=1"));
  HttpResponse head;
  std::size_t n = 0;
  Status err;
  ASSERT_EQ(parse_response_head(ByteView::of(out), &head, &n, &err), Decode::kDone);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(*head.headers.find("Connection"), "Keep-Alive");
  const std::size_t len = std::stoul(*head.headers.find("Content-Length"));
  const std::string play = out.substr(n + len);
  HttpResponse head2;
  ASSERT_EQ(parse_response_head(ByteView::of(play), &head2, &n, &err), Decode::kDone);
  EXPECT_EQ(head2.status, 200);
  EXPECT_EQ(*head2.headers.find("Content-Type"), "application/x-mms-framed");
  EXPECT_EQ(*head2.headers.find("Connection"), "Close");
  EXPECT_EQ(s.start_packet(), 0);
  EXPECT_TRUE(s.wants_close());
  // Both responses carry the same client-id.
  EXPECT_NE(head2.headers.find("Pragma")->find("client-id=42"), std::string::npos);
}

TEST_F(ServerSessionTest, PipelinedPostsAreAnsweredInOrderAndSelectStreamApplies) {
  ServerSession s(&config_, 42, Instant{0});
  const std::string body = "<XML>log</XML>";
  const std::string out = drain_connection(
      &s, keep_alive_request("POST", "no-cache,xKeepAliveInPause=1,client-id=42",
                             "Content-Length: 0\r\n") +
              keep_alive_request("POST", "no-cache,client-id=42",
                                 "Content-Type: application/x-wms-LogStats\r\nContent-Length: " +
                                     std::to_string(body.size()) + "\r\n") +
              body +
              keep_alive_request("POST", "no-cache,stream-switch-entry=ffff:1:2 ffff:2:0",
                                 "Content-Length: 0\r\n") +
              keep_alive_request("GET", "no-cache,xPlayStrm=1"));
  std::vector<int> statuses;
  std::string rest = out;
  for (int i = 0; i < 4; ++i) {
    HttpResponse h;
    std::size_t n = 0;
    Status err;
    ASSERT_EQ(parse_response_head(ByteView::of(rest), &h, &n, &err), Decode::kDone) << i;
    statuses.push_back(h.status);
    const std::string* cl = h.headers.find("Content-Length");
    rest.erase(0, n + (cl != nullptr ? std::stoul(*cl) : 0));
    if (i < 3) {
      EXPECT_EQ(*h.headers.find("Connection"), "Keep-Alive");
    }
  }
  EXPECT_EQ(statuses, (std::vector<int>{200, 204, 200, 200}));
  // The Play named no streams: the SelectStream's entry applies (audio only).
  std::vector<std::uint8_t> bytes(rest.begin(), rest.end());
  ByteView v(bytes);
  std::size_t data = 0;
  while (!v.empty()) {
    Frame f;
    Status err;
    ASSERT_EQ(decode_frame(v, &f, &err), Decode::kDone);
    if (f.type == kFrameData) {
      ++data;
      auto p = asf::parse_packet(f.payload, content_->packet_size());
      ASSERT_TRUE(p.ok());
      for (const asf::PayloadInfo& pl : p->payloads) {
        EXPECT_EQ(pl.stream, 2);
      }
    }
    v = v.subview(f.wire_size);
  }
  EXPECT_GT(data, 0u);
  EXPECT_LT(data, content_->packet_count());
}

TEST_F(ServerSessionTest, IdleKeptAliveConnectionClosesAfterTheTimeout) {
  ServerSession s(&config_, 42, Instant{0});
  drain_connection(&s, keep_alive_request("GET", "no-cache"));
  EXPECT_FALSE(s.wants_close());
  ASSERT_TRUE(s.next_deadline().has_value());
  EXPECT_EQ(*s.next_deadline(), Instant{0} + config_.idle_timeout);
  s.on_timeout(Instant{0} + config_.idle_timeout);
  EXPECT_TRUE(s.next_output(Instant{0} + config_.idle_timeout).empty());
  EXPECT_TRUE(s.wants_close());
}

TEST_F(ServerSessionTest, ByteByByteRequestGivesSameOutput) {
  for (const std::string& req :
       {play(), std::string(kFfmpegPlay), request("/small.asf", {"no-cache"})}) {
    Output whole = run(req, 0);
    Output bytes = run(req, 1);
    Output sevens = run(req, 7);
    EXPECT_EQ(whole.body, bytes.body);
    EXPECT_EQ(whole.body, sevens.body);
    EXPECT_EQ(whole.head.status, 200);
  }
}

TEST_F(ServerSessionTest, MalformedRequestGets400) {
  Output o = run("GARBAGE\r\n\r\n");
  EXPECT_EQ(o.head.status, 400);
  EXPECT_TRUE(o.closed);
}

TEST_F(ServerSessionTest, PacedPlayFollowsSendTimes) {
  config_.fast = false;
  ServerSession s(&config_, 1, Instant{0});
  const std::string req = play();
  ASSERT_TRUE(s.on_bytes(ByteView::of(req), Instant{0}).ok());
  std::vector<std::uint8_t> got;
  auto drain = [&](Instant now) {
    for (ByteView v = s.next_output(now); !v.empty(); v = s.next_output(now)) {
      got.insert(got.end(), v.begin(), v.end());
      s.consume_output(v.size());
    }
  };
  drain(Instant{0});
  auto deadline = s.next_deadline();
  ASSERT_TRUE(deadline.has_value());
  EXPECT_GT(deadline->ns, 0);
  const std::size_t at_start = got.size();
  // Halfway through the content only part of the packets may have been sent.
  drain(Instant{kSecond});
  EXPECT_GT(got.size(), at_start);
  EXPECT_FALSE(s.wants_close());
  drain(Instant{kSecond * 30});
  EXPECT_TRUE(s.wants_close());
}

// Fast Start: the requested media goes out at `factor` times real time; the
// bytes sent by 0.3 s at 10x are those sent by 3 s without; a server that
// allows no acceleration (factor 1) ignores the request.
TEST_F(ServerSessionTest, FastStartSendsTheFirstSecondsFaster) {
  config_.fast = false;
  auto sent_by = [this](const std::string& accel, Instant t) {
    ServerSession s(&config_, 1, Instant{0});
    const std::string req = play("stream-time=0,stream-offset=0:0", accel);
    EXPECT_TRUE(s.on_bytes(ByteView::of(req), Instant{0}).ok());
    std::size_t n = 0;
    for (Instant now{0}; now <= t; now = now + 10 * kMillisecond) {
      for (ByteView v = s.next_output(now); !v.empty(); v = s.next_output(now)) {
        n += v.size();
        s.consume_output(v.size());
      }
    }
    return n;
  };
  const std::string accel = "LinkBW=2147483647, AccelBW=2147483647, AccelDuration=10000";
  const std::size_t plain_3s = sent_by("", Instant{3 * kSecond});
  const std::size_t plain_300ms = sent_by("", Instant{300 * kMillisecond});
  ASSERT_GT(plain_3s, plain_300ms);
  EXPECT_EQ(sent_by(accel, Instant{300 * kMillisecond}), plain_3s);
  config_.fast_start_factor = 1;
  EXPECT_EQ(sent_by(accel, Instant{300 * kMillisecond}), plain_300ms);
}

TEST(FastStart, GrantAndOffsets) {
  // 10 s asked, any bandwidth, 500 kbit/s content, server allows 10x.
  FastStart f = FastStart::grant(10000, kFastStartAnyBandwidth, 500000, 10);
  EXPECT_TRUE(f.active());
  EXPECT_EQ(f.factor, 10u);
  EXPECT_EQ(f.burst_ms, 10000);
  EXPECT_EQ(f.offset(0), 0);
  EXPECT_EQ(f.offset(5000), 500 * kMillisecond);
  EXPECT_EQ(f.offset(10000), 1000 * kMillisecond);
  EXPECT_EQ(f.offset(12000), 3000 * kMillisecond);  // real time after the burst
  EXPECT_EQ(f.offset(-20), 0);
  // The stated bandwidth bounds the factor; too little means none.
  EXPECT_EQ(FastStart::grant(10000, 2000000, 500000, 10).factor, 4u);
  EXPECT_FALSE(FastStart::grant(10000, 600000, 500000, 10).active());
  EXPECT_FALSE(FastStart::grant(0, kFastStartAnyBandwidth, 500000, 10).active());
  EXPECT_FALSE(FastStart::grant(10000, kFastStartAnyBandwidth, 500000, 1).active());
  // Bounded burst; unknown content bit rate: the server's factor.
  EXPECT_EQ(FastStart::grant(600000, 0, 0, 10).burst_ms, std::int64_t{kFastStartMaxBurstMs});
  EXPECT_EQ(FastStart::grant(1000, 0, 0, 7).factor, 7u);
  FastStart none;
  EXPECT_EQ(none.offset(1234), 1234 * kMillisecond);
}

TEST_F(ServerSessionTest, AResponseNobodyReadsIsAbandonedAfterTheIdleTimeout) {
  config_.idle_timeout = 2 * kSecond;
  Output o = run(request("/small.asf", {"no-cache,stream-time=0,request-context=1"}));
  EXPECT_EQ(pragma_line(o), "no-cache,client-id=42,features=\"seekable\",timeout=2000");

  ServerSession s(&config_, 1, Instant{0});
  ASSERT_TRUE(s.on_bytes(ByteView::of(play()), Instant{0}).ok());
  ByteView v = s.next_output(Instant{0});
  ASSERT_GT(v.size(), 2u);
  s.consume_output(v.size() / 2);
  // A second later the client takes one byte more, then nothing.
  v = s.next_output(Instant{kSecond});
  ASSERT_FALSE(v.empty());
  s.consume_output(1);
  ASSERT_TRUE(s.next_deadline().has_value());
  EXPECT_EQ(s.next_deadline()->ns, 3 * kSecond);  // measured from the last progress
  s.on_timeout(Instant{3 * kSecond - 1});
  EXPECT_FALSE(s.wants_close());
  EXPECT_FALSE(s.next_output(Instant{3 * kSecond - 1}).empty());
  s.on_timeout(Instant{3 * kSecond});
  EXPECT_TRUE(s.wants_close());
  EXPECT_TRUE(s.next_output(Instant{3 * kSecond}).empty());

  // A client that keeps reading is never cut, however long the response.
  config_.fast = false;
  ServerSession r(&config_, 2, Instant{0});
  ASSERT_TRUE(r.on_bytes(ByteView::of(play()), Instant{0}).ok());
  for (Instant now{0}; !r.wants_close() && now.ns < 120 * kSecond;) {
    for (ByteView w = r.next_output(now); !w.empty(); w = r.next_output(now)) {
      r.consume_output(w.size());
    }
    auto d = r.next_deadline();
    if (!d) {
      break;
    }
    now = std::max(now, *d);
    r.on_timeout(now);
  }
  EXPECT_TRUE(r.wants_close());
  EXPECT_GT(r.start_packet(), -1);
}

TEST_F(ServerSessionTest, LiveIsBroadcastAndLoops) {
  config_.live_epoch = Instant{0};
  const std::string req =
      request("/live", {"no-cache,rate=1.000000,request-context=2", "xPlayStrm=1"});
  const Instant until{static_cast<std::int64_t>(content_->loop_period_ms()) * kMillisecond +
                      kSecond / 2};
  Output o = run(req, 0, until);
  EXPECT_EQ(o.head.status, 200);
  EXPECT_NE(pragma_line(o).find("features=\"broadcast\""), std::string::npos);
  auto headers = frames_of(o, kFrameHeader);
  ASSERT_EQ(headers.size(), 2u);
  auto info = asf::parse_header(headers[0]->payload);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->broadcast());
  // ... $D(last) $E(1) $C(0) $H $D(0) ...
  std::size_t e = 0;
  while (e < o.frames.size() && o.frames[e].type != kFrameEnd) {
    ++e;
  }
  ASSERT_LT(e + 3, o.frames.size());
  EXPECT_EQ(o.frames[e].reason, 1u);
  EXPECT_EQ(o.frames[e + 1].type, kFrameChange);
  EXPECT_EQ(o.frames[e + 1].reason, 0u);
  EXPECT_EQ(o.frames[e + 2].type, kFrameHeader);
  EXPECT_EQ(o.frames[e + 3].type, kFrameData);
  EXPECT_EQ(o.frames[e + 3].location_id, 0u);
  EXPECT_FALSE(o.closed);
}

TEST_F(ServerSessionTest, PlaylistPlaysEachEntryThenEnds) {
  config_.playlists["list"] = {"small.asf", "small.asf"};
  const std::string req =
      request("/list", {"no-cache,rate=1.000000,request-context=2", "xPlayStrm=1"});
  for (std::size_t step : {std::size_t{0}, std::size_t{1}}) {
    Output o = run(req, step);
    ASSERT_TRUE(o.frames_ok);
    EXPECT_TRUE(o.closed);
    EXPECT_EQ(o.head.status, 200);
    // Clients are told that later entries may follow.
    EXPECT_NE(pragma_line(o).find("features=\"seekable,playlist\""), std::string::npos)
        << pragma_line(o);
    // $H $D(0..n-1) $E(1) $C(0) $H $D(0..n-1) $E(0)
    const std::size_t n = content_->packet_count();
    ASSERT_EQ(o.frames.size(), 2 * n + 5);
    EXPECT_EQ(o.frames[0].type, kFrameHeader);
    EXPECT_EQ(o.frames[n + 1].type, kFrameEnd);
    EXPECT_EQ(o.frames[n + 1].reason, 1u);
    EXPECT_EQ(o.frames[n + 2].type, kFrameChange);
    EXPECT_EQ(o.frames[n + 2].reason, 0u);
    EXPECT_EQ(o.frames[n + 3].type, kFrameHeader);
    EXPECT_EQ(o.frames[n + 3].payload.to_vector(), file_header().to_vector());
    for (std::size_t i = 0; i < n; ++i) {
      EXPECT_EQ(o.frames[1 + i].type, kFrameData);
      EXPECT_EQ(o.frames[1 + i].location_id, i);
      EXPECT_EQ(o.frames[n + 4 + i].type, kFrameData);
      EXPECT_EQ(o.frames[n + 4 + i].location_id, i);  // the second entry from its first packet
    }
    EXPECT_EQ(o.frames.back().type, kFrameEnd);
    EXPECT_EQ(o.frames.back().reason, 0u);
  }
  // A Describe of the playlist answers the first entry's header.
  Output d = run(request("/list", {"no-cache,rate=1.000000,request-context=1"}));
  ASSERT_EQ(d.frames.size(), 1u);
  EXPECT_EQ(d.frames[0].payload.to_vector(), file_header().to_vector());
}

// Players of version 9 or later get $M before every $H (MS-WMSP 2.2.3.6),
// with a playlist-gen-id per entry; older ones never see one.
TEST_F(ServerSessionTest, MetadataBeforeEveryHeaderForVersion9Players) {
  config_.playlists["list"] = {"small.asf", "small.asf"};
  const auto as_player = [](std::string req, const char* version) {
    const std::string from = "NSPlayer/7.10.0.3059";
    req.replace(req.find(from), from.size(), version);
    return req;
  };
  const std::string describe = request("/list", {"no-cache,rate=1.000000,request-context=1"});
  const std::string play_list =
      request("/list", {"no-cache,rate=1.000000,request-context=2", "xPlayStrm=1"});
  for (std::size_t step : {std::size_t{0}, std::size_t{1}}) {
    Output d = run(as_player(describe, "NSPlayer/9.0.0.2980"), step);
    ASSERT_TRUE(d.frames_ok);
    ASSERT_EQ(d.frames.size(), 2u);
    EXPECT_EQ(d.frames[0].type, kFrameMeta);
    EXPECT_EQ(d.frames[0].af_flags, 0x0C);
    EXPECT_EQ(d.frames[1].type, kFrameHeader);
    Result<session::EntryMetadata> m = session::parse_wmsp_metadata(d.frames[0].payload);
    ASSERT_TRUE(m.ok()) << m.status().what();
    EXPECT_EQ(m->playlist_gen_id, 1u);
    EXPECT_EQ(m->broadcast_id, 0u);
    EXPECT_EQ(m->features, "seekable,playlist");  // "/list" is a server-side playlist
    ASSERT_EQ(m->descriptions.size(), 1u);
    ASSERT_NE(m->find("title"), nullptr);
    EXPECT_EQ(*m->find("title"), content_->info().tags.title);
    ASSERT_NE(m->find("WMS_CONTENT_DESCRIPTION_PLAYLIST_ENTRY_DURATION"), nullptr);
    EXPECT_EQ(*m->find("WMS_CONTENT_DESCRIPTION_PLAYLIST_ENTRY_DURATION"),
              std::to_string(content_->duration_ms()));
  }
  Output p = run(as_player(play_list, "NSPlayer/10.0.0.3802"));
  ASSERT_TRUE(p.frames_ok);
  const auto metas = frames_of(p, kFrameMeta);
  ASSERT_EQ(metas.size(), 2u);
  std::uint32_t gen = 0;
  for (const Frame* f : metas) {
    // Each $M is followed by its entry's header.
    EXPECT_EQ((f + 1)->type, kFrameHeader);
    Result<session::EntryMetadata> m = session::parse_wmsp_metadata(f->payload);
    ASSERT_TRUE(m.ok()) << m.status().what();
    EXPECT_EQ(m->playlist_gen_id, ++gen);
  }
  for (const char* old : {"NSPlayer/7.10.0.3059", "NSPlayer/8.0.0.4477", "VLC/3.0"}) {
    Output o = run(as_player(play_list, old));
    ASSERT_TRUE(o.frames_ok);
    EXPECT_TRUE(frames_of(o, kFrameMeta).empty()) << old;
    EXPECT_EQ(frames_of(o, kFrameHeader).size(), 2u) << old;
  }
}

TEST_F(ServerSessionTest, PlaylistWithAMissingEntryIs404) {
  config_.playlists["broken"] = {"small.asf", "missing.asf"};
  Output o = run(request("/broken", {"no-cache,rate=1.000000,request-context=2", "xPlayStrm=1"}));
  EXPECT_EQ(o.head.status, 404);
  EXPECT_TRUE(o.frames.empty());
}

TEST_F(ServerSessionTest, LiveJoinsAtCurrentKeyFrame) {
  const auto half = static_cast<std::int64_t>(content_->loop_period_ms()) * kMillisecond / 2;
  config_.live_epoch = Instant{-half};  // the broadcast started half a loop ago
  Output o = run(request("/live", {"xPlayStrm=1", "stream-time=0"}), 0, Instant{kSecond / 10});
  auto data = frames_of(o, kFrameData);
  ASSERT_FALSE(data.empty());
  EXPECT_GT(data[0]->location_id, 0u);
  EXPECT_TRUE(content_->meta(data[0]->location_id).key);
}

TEST_F(ServerSessionTest, FaultTruncateClosesInsideFifthDataFrame) {
  config_.fault = Fault::kTruncate;
  Output o = run(play());
  EXPECT_TRUE(o.closed);
  EXPECT_FALSE(o.frames_ok);  // the 5th $D is cut
  EXPECT_EQ(frames_of(o, kFrameData).size(), 4u);
}

TEST_F(ServerSessionTest, FaultHugeLength) {
  config_.fault = Fault::kHugeLength;
  Output o = run(request("/small.asf", {"no-cache"}));
  EXPECT_EQ(*o.head.headers.find("Content-Length"), "2147483648");
  ASSERT_EQ(o.frames.size(), 1u);
  const ByteView h = o.frames[0].payload;
  std::uint64_t size = 0;
  for (int i = 7; i >= 0; --i) {
    size = (size << 8) | h[16 + static_cast<std::size_t>(i)];
  }
  EXPECT_EQ(size, 2147483648ull);
}

TEST_F(ServerSessionTest, FaultStallHeaderKeepsConnectionOpen) {
  config_.fault = Fault::kStallHeader;
  ServerSession s(&config_, 1, Instant{0});
  const std::string req = play();
  ASSERT_TRUE(s.on_bytes(ByteView::of(req), Instant{0}).ok());
  std::size_t total = 0;
  for (ByteView v = s.next_output(Instant{0}); !v.empty(); v = s.next_output(Instant{0})) {
    total += v.size();
    s.consume_output(v.size());
  }
  EXPECT_GT(total, 0u);
  EXPECT_FALSE(s.wants_close());
  EXPECT_FALSE(s.next_deadline().has_value());
  s.on_eof(Instant{kSecond});
  EXPECT_TRUE(s.wants_close());
}

TEST_F(ServerSessionTest, FaultBadFrameAndGarbage) {
  config_.fault = Fault::kBadFrame;
  Output o = run(play());
  EXPECT_EQ(o.head.status, 200);
  EXPECT_FALSE(o.frames_ok);
  ASSERT_EQ(o.frames.size(), 1u);
  EXPECT_EQ(o.frames[0].type, kFrameHeader);

  config_.fault = Fault::kGarbage;
  o = run(play());
  EXPECT_EQ(o.head.status, 0);
  EXPECT_TRUE(o.closed);
  EXPECT_FALSE(o.body.empty());
}

TEST(MmshFault, NamesRoundTrip) {
  for (const char* n : {"garbage", "truncate", "huge-length", "stall-header", "bad-frame"}) {
    auto f = fault_from_string(n);
    ASSERT_TRUE(f.has_value()) << n;
    EXPECT_STREQ(to_string(*f), n);
  }
  EXPECT_FALSE(fault_from_string("nope").has_value());
}

}  // namespace
}  // namespace mms::mmsh
