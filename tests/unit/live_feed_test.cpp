// Publishing points: AsfStreamReader (whole, byte by byte, trailing data, bad
// input), FeedPacer, LiveFeed (window, key frames, stream change, end), and an
// MMSH server session playing a fed content as it grows.
#include "protocol/server/live_feed.h"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/asf/header_parser.h"
#include "protocol/core/fast_start.h"
#include "protocol/mmsh/framing.h"
#include "protocol/mmsh/server_session.h"
#include "tests/support/memory_source.h"

namespace mms::server {
namespace {

using mms_test::read_fixture;

struct Cut {
  std::vector<StreamItem::Kind> kinds;
  std::vector<std::vector<std::uint8_t>> items;  // header and packet bytes
  std::size_t left = 0;
  Status status;
};

// Feeds `bytes` to a reader `step` bytes at a time (0 = whole), as a caller
// that keeps unconsumed bytes and appends more would.
Cut cut(const std::vector<std::uint8_t>& bytes, std::size_t step) {
  Cut out;
  AsfStreamReader r;
  std::vector<std::uint8_t> buf;
  std::size_t fed = 0;
  while (true) {
    const std::size_t n = step == 0 ? bytes.size() - fed : std::min(step, bytes.size() - fed);
    buf.insert(buf.end(), bytes.begin() + static_cast<std::ptrdiff_t>(fed),
               bytes.begin() + static_cast<std::ptrdiff_t>(fed + n));
    fed += n;
    for (;;) {
      Result<StreamItem> it = r.next(ByteView(buf));
      if (!it.ok()) {
        out.status = it.status();
        return out;
      }
      if (it->kind == StreamItem::Kind::kNeedMore) {
        break;
      }
      if (it->kind != StreamItem::Kind::kSkipped) {
        out.kinds.push_back(it->kind);
        out.items.emplace_back(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(it->size));
      } else if (out.kinds.empty() || out.kinds.back() != StreamItem::Kind::kSkipped) {
        out.kinds.push_back(it->kind);  // one entry per skipped run
      }
      buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(it->size));
    }
    if (fed == bytes.size()) {
      break;
    }
  }
  out.left = buf.size();
  out.status = r.finish(buf.size());
  return out;
}

class LiveFeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = read_fixture("small.asf");
    ASSERT_FALSE(file_.empty());
    auto layout = asf::scan_file(ByteView(file_));
    ASSERT_TRUE(layout.ok());
    layout_ = *layout;
  }
  std::size_t data_end() const {
    return layout_.first_packet + layout_.packet_count * layout_.info.packet_size;
  }
  std::vector<std::uint8_t> file_;
  asf::FileLayout layout_;
};

TEST_F(LiveFeedTest, ReaderCutsAFileWholeAndByteByByteAlike) {
  const Cut whole = cut(file_, 0);
  ASSERT_TRUE(whole.status.ok()) << whole.status.what();
  ASSERT_GE(whole.items.size(), 2u);
  EXPECT_EQ(whole.kinds.front(), StreamItem::Kind::kHeader);
  EXPECT_EQ(whole.items.front().size(), layout_.header_bytes);
  std::size_t packets = 0;
  for (std::size_t i = 1; i < whole.kinds.size(); ++i) {
    if (whole.kinds[i] == StreamItem::Kind::kPacket) {
      EXPECT_EQ(whole.items[i].size(), layout_.info.packet_size);
      ++packets;
    }
  }
  EXPECT_EQ(packets, layout_.packet_count);
  EXPECT_EQ(whole.left, 0u);
  if (file_.size() > data_end()) {
    EXPECT_EQ(whole.kinds.back(), StreamItem::Kind::kSkipped);  // the index
  }
  for (std::size_t step : {1u, 7u, 100u}) {
    const Cut pieces = cut(file_, step);
    ASSERT_TRUE(pieces.status.ok()) << step << ": " << pieces.status.what();
    EXPECT_EQ(pieces.kinds, whole.kinds) << step;
    EXPECT_EQ(pieces.items, whole.items) << step;
  }
}

TEST_F(LiveFeedTest, ReaderTakesConcatenatedStreamsAsHeaderChanges) {
  std::vector<std::uint8_t> two(file_.begin(),
                                file_.begin() + static_cast<std::ptrdiff_t>(data_end()));
  two.insert(two.end(), file_.begin(), file_.end());
  const Cut c = cut(two, 13);
  ASSERT_TRUE(c.status.ok()) << c.status.what();
  std::size_t headers = 0;
  for (StreamItem::Kind k : c.kinds) {
    headers += k == StreamItem::Kind::kHeader ? 1 : 0;
  }
  EXPECT_EQ(headers, 2u);
}

TEST_F(LiveFeedTest, ReaderReportsTrailingPartialPacketsAndBadInput) {
  std::vector<std::uint8_t> cut_short(file_.begin(),
                                      file_.begin() + static_cast<std::ptrdiff_t>(data_end() - 10));
  Cut c = cut(cut_short, 0);
  EXPECT_EQ(c.status.code(), Code::kMalformed);
  EXPECT_GT(c.left, 0u);

  std::vector<std::uint8_t> trailing(file_.begin(),
                                     file_.begin() + static_cast<std::ptrdiff_t>(data_end()));
  trailing.insert(trailing.end(), 20, 0xAB);  // not a whole packet
  c = cut(trailing, 0);
  EXPECT_EQ(c.status.code(), Code::kMalformed);

  std::vector<std::uint8_t> header_only(file_.begin(),
                                        file_.begin() + static_cast<std::ptrdiff_t>(100));
  c = cut(header_only, 1);
  EXPECT_EQ(c.status.code(), Code::kMalformed);  // ends inside the header

  std::vector<std::uint8_t> junk(4096, 0x42);
  c = cut(junk, 0);
  EXPECT_EQ(c.status.code(), Code::kMalformed);
  c = cut(junk, 1);
  EXPECT_EQ(c.status.code(), Code::kMalformed);

  std::vector<std::uint8_t> huge = file_;
  for (int i = 0; i < 8; ++i) {
    huge[16 + static_cast<std::size_t>(i)] = i == 4 ? 0x7F : 0;  // 2^39-byte Header Object
  }
  c = cut(huge, 0);
  EXPECT_EQ(c.status.code(), Code::kMalformed);

  // An index object claiming fewer bytes than its own head.
  std::vector<std::uint8_t> bad_index(file_.begin(),
                                      file_.begin() + static_cast<std::ptrdiff_t>(data_end()));
  const asf::Guid g = asf::kSimpleIndexObject;
  bad_index.insert(bad_index.end(), g.begin(), g.end());
  bad_index.insert(bad_index.end(), 8, 0);
  c = cut(bad_index, 0);
  EXPECT_EQ(c.status.code(), Code::kMalformed);
}

TEST(FeedPacerTest, PacesBySendTimeAndRestartsWhenLate) {
  FeedPacer p;
  const Instant t0{kSecond * 100};
  EXPECT_EQ(p.due(5000, t0).ns, t0.ns);  // the first packet starts the clock
  EXPECT_EQ(p.due(5400, t0 + 10 * kMillisecond).ns, (t0 + 400 * kMillisecond).ns);
  // Read late, within the bound: still due at its send time (in the past).
  EXPECT_EQ(p.due(5500, t0 + 900 * kMillisecond).ns, (t0 + 500 * kMillisecond).ns);
  // More than kMaxLag late: the clock restarts at it.
  const Instant late = t0 + 5 * kSecond;
  EXPECT_EQ(p.due(5600, late).ns, late.ns);
  EXPECT_EQ(p.due(5700, late).ns, (late + 100 * kMillisecond).ns);
  p.on_header();
  EXPECT_EQ(p.due(0, late + kSecond).ns, (late + kSecond).ns);  // a new header: a new clock
}

class FedContentTest : public LiveFeedTest {
 protected:
  void SetUp() override {
    LiveFeedTest::SetUp();
    const Cut c = cut(file_, 0);
    ASSERT_TRUE(c.status.ok());
    header_ = c.items.front();
    for (std::size_t i = 1; i < c.items.size(); ++i) {
      packets_.push_back(c.items[i]);
    }
  }
  std::vector<std::uint8_t> header_;
  std::vector<std::vector<std::uint8_t>> packets_;
};

TEST_F(FedContentTest, FeedGrowsKeepsItsWindowFromAKeyFrameAndChangesStreams) {
  FeedLimits limits;
  limits.window = 0;  // keep only from the last key frame
  LiveFeed feed("live", limits);
  EXPECT_EQ(feed.packet(ByteView(packets_[0])).code(), Code::kLocalMisuse);
  ASSERT_TRUE(feed.header(ByteView(header_)).ok());
  std::shared_ptr<const Content> first = feed.current();
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->fed());
  EXPECT_TRUE(first->live());
  EXPECT_FALSE(first->ended());
  EXPECT_EQ(first->packet_count(), 0u);
  EXPECT_EQ(first->live_start(), 0u);
  std::vector<std::uint8_t> wrong(packets_[0].begin(), packets_[0].end() - 1);
  EXPECT_EQ(feed.packet(ByteView(wrong)).code(), Code::kMalformed);
  for (const auto& p : packets_) {
    ASSERT_TRUE(feed.packet(ByteView(p)).ok());
  }
  EXPECT_EQ(first->packet_count(), packets_.size());
  const std::uint32_t start = first->live_start();
  ASSERT_LT(start, first->packet_count());
  EXPECT_TRUE(first->meta(start).key);
  EXPECT_EQ(first->first_packet(), start);  // older packets left the window
  for (std::uint32_t i = start; i < first->packet_count(); ++i) {
    const ByteView got = first->packet(i);
    EXPECT_EQ(std::vector<std::uint8_t>(got.begin(), got.end()), packets_[i]) << i;
  }

  ASSERT_TRUE(feed.header(ByteView(header_)).ok());  // stream change
  std::shared_ptr<const Content> second = feed.current();
  EXPECT_TRUE(first->ended());
  EXPECT_EQ(first->successor(), second);
  EXPECT_EQ(second->first_packet(), first->packet_count());  // indices go on
  ASSERT_TRUE(feed.packet(ByteView(packets_[0])).ok());
  EXPECT_EQ(second->packet_count(), first->packet_count() + 1);
  feed.finish();
  EXPECT_TRUE(second->ended());
  EXPECT_FALSE(second->successor());
  EXPECT_EQ(feed.headers(), 2u);
  EXPECT_EQ(feed.packets(), packets_.size() + 1);
}

TEST_F(FedContentTest, ByteBoundKeepsTheLastKeyFrame) {
  FeedLimits limits;
  limits.max_bytes = 1;  // nothing fits
  LiveFeed feed("live", limits);
  ASSERT_TRUE(feed.header(ByteView(header_)).ok());
  for (const auto& p : packets_) {
    ASSERT_TRUE(feed.packet(ByteView(p)).ok());
  }
  const auto c = feed.current();
  EXPECT_EQ(c->first_packet(), c->live_start());
  EXPECT_EQ(
      c->packet_count(),
      packets_.size());  // A client behind the window goes on from the oldest key frame held; one
  // within it goes on where it is.
  ASSERT_GT(c->first_packet(), 0u);
  EXPECT_EQ(c->catch_up(0), c->first_packet());
  EXPECT_TRUE(c->meta(c->catch_up(0)).key);
  EXPECT_EQ(c->catch_up(c->packet_count() - 1), c->packet_count() - 1);
}

TEST_F(FedContentTest, LiveStartBehindLiveForBroadcastFastStart) {
  LiveFeed feed("live");
  ASSERT_TRUE(feed.header(ByteView(header_)).ok());
  for (const auto& p : packets_) {
    ASSERT_TRUE(feed.packet(ByteView(p)).ok());
  }
  const auto c = feed.current();
  const std::uint32_t newest = c->meta(c->packet_count() - 1).send_time_ms;
  EXPECT_EQ(c->live_start(0), c->live_start());
  std::uint32_t keys = 0;
  std::uint32_t first_key = c->packet_count();
  for (std::uint32_t i = c->first_packet(); i < c->packet_count(); ++i) {
    if (c->meta(i).key) {
      ++keys;
      first_key = std::min(first_key, i);
    }
  }
  ASSERT_GE(keys, 2u) << "the fixture needs two key frames";
  for (std::uint32_t behind : {100u, 1000u, 3000u}) {
    const std::uint32_t at = c->live_start(behind);
    ASSERT_LT(at, c->packet_count());
    EXPECT_TRUE(c->meta(at).key);
    if (newest >= behind && c->meta(first_key).send_time_ms <= newest - behind) {
      EXPECT_LE(c->meta(at).send_time_ms, newest - behind) << behind;
      // The latest such key frame: no later key frame is also far enough back.
      for (std::uint32_t i = at + 1; i < c->packet_count(); ++i) {
        EXPECT_FALSE(c->meta(i).key && c->meta(i).send_time_ms <= newest - behind) << i;
      }
    } else {
      EXPECT_EQ(at, first_key) << behind;
    }
  }
  EXPECT_EQ(c->live_start(UINT32_MAX), first_key);  // further back than held: the oldest
  EXPECT_LE(c->live_start(3000), c->live_start(100));
}

TEST(BroadcastFastStartTest, JoinsBehindLiveOnlyWhenAskedAndAllowed) {
  EXPECT_EQ(broadcast_fast_start_ms(0, kFastStartDefaultFactor), 0u);
  EXPECT_EQ(broadcast_fast_start_ms(10000, 1), 0u);  // Fast Start off on the server
  EXPECT_EQ(broadcast_fast_start_ms(2000, kFastStartDefaultFactor), 2000u);
  EXPECT_EQ(broadcast_fast_start_ms(10000, kFastStartDefaultFactor), kBroadcastFastStartMs);
}

TEST(BroadcastFastStartTest, CatchUpPacesTheBacklogAtTheFactorAndBoundsIt) {
  EXPECT_FALSE(CatchUp::grant(0, kFastStartDefaultFactor).active());  // not behind live
  EXPECT_FALSE(CatchUp::grant(5000, 1).active());                     // Fast Start off
  EXPECT_FALSE(CatchUp().offset(100).has_value());
  const CatchUp c = CatchUp::grant(5000, kFastStartDefaultFactor);
  ASSERT_TRUE(c.active());
  EXPECT_EQ(c.offset(0), Duration{0});
  EXPECT_EQ(c.offset(5000), 500 * kMillisecond);
  EXPECT_EQ(c.offset(kFastStartMaxBurstMs), kFastStartMaxBurstMs * kMillisecond / 10);
  EXPECT_FALSE(c.offset(-1).has_value());  // before the join (the next loop, a new header)
  EXPECT_FALSE(c.offset(kFastStartMaxBurstMs + 1).has_value());  // a jump: live pacing alone
  EXPECT_EQ(CatchUp::grant(5000, 1000).factor, kFastStartMaxFactor);
}

class SingleSource : public ContentSource {
 public:
  explicit SingleSource(const LiveFeed* feed) : feed_(feed) {}
  Result<std::shared_ptr<const Content>> open(std::string_view path) override {
    if (path != "/live" || !feed_->current()) {
      return Status(Code::kNotFound, "not found");
    }
    return feed_->current();
  }

 private:
  const LiveFeed* feed_;
};

// Drains whatever the session has now.
std::vector<std::uint8_t> drain(mmsh::ServerSession* s, Instant now) {
  std::vector<std::uint8_t> out;
  for (;;) {
    const ByteView v = s->next_output(now);
    if (v.empty()) {
      return out;
    }
    out.insert(out.end(), v.begin(), v.end());
    s->consume_output(v.size());
  }
}

// The $D frames' location ids and the $E / $C / $H frames, in order.
std::vector<std::string> frame_list(const std::vector<std::uint8_t>& body) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < body.size()) {
    mmsh::Frame f;
    Status error;
    if (mmsh::decode_frame(ByteView(body).subview(at), &f, &error) != mmsh::Decode::kDone ||
        f.wire_size == 0) {
      out.push_back("?");
      return out;
    }
    const char type = static_cast<char>(f.type);
    out.push_back(type == 'D' ? "D" + std::to_string(f.location_id) : std::string(1, type));
    at += f.wire_size;
  }
  return out;
}

TEST_F(FedContentTest, MmshPlayStartsAtTheKeyFrameSendsAsItArrivesAndEnds) {
  LiveFeed feed("live");
  SingleSource source(&feed);
  mmsh::ServerConfig config;
  config.content = &source;
  ASSERT_TRUE(feed.header(ByteView(header_)).ok());
  const std::size_t half = packets_.size() / 2;
  for (std::size_t i = 0; i < half; ++i) {
    ASSERT_TRUE(feed.packet(ByteView(packets_[i])).ok());
  }
  const std::uint32_t start = feed.current()->live_start();
  mmsh::ServerSession s(&config, 7, Instant{0});
  const std::string req =
      "GET /live HTTP/1.0\r\nUser-Agent: NSPlayer/7.10.0.3059\r\nHost: x\r\n"
      "Pragma: no-cache,rate=1.000000,stream-time=0,request-context=2\r\n"
      "Pragma: xPlayStrm=1\r\nConnection: Close\r\n\r\n";
  ASSERT_TRUE(s.on_bytes(ByteView::of(req), Instant{0}).ok());
  std::vector<std::uint8_t> body = drain(&s, Instant{0});
  const std::string text(body.begin(), body.end());
  const std::size_t head_end = text.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  EXPECT_NE(text.find("broadcast"), std::string::npos);
  body.erase(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(head_end + 4));
  std::vector<std::string> want = {"H"};
  for (std::uint32_t i = start; i < half; ++i) {
    want.push_back("D" + std::to_string(i));
  }
  EXPECT_EQ(frame_list(body), want);
  // Nothing more yet: no output, no deadline, not closing.
  EXPECT_TRUE(drain(&s, Instant{kSecond}).empty());
  EXPECT_FALSE(s.next_deadline().has_value());
  EXPECT_FALSE(s.wants_close());
  for (std::size_t i = half; i < packets_.size(); ++i) {
    ASSERT_TRUE(feed.packet(ByteView(packets_[i])).ok());
  }
  feed.finish();
  want.clear();
  for (std::size_t i = half; i < packets_.size(); ++i) {
    want.push_back("D" + std::to_string(i));
  }
  want.push_back("E");
  EXPECT_EQ(frame_list(drain(&s, Instant{2 * kSecond})), want);
  EXPECT_TRUE(s.wants_close());
}

TEST_F(FedContentTest, MmshNewHeaderIsAStreamChange) {
  LiveFeed feed("live");
  SingleSource source(&feed);
  mmsh::ServerConfig config;
  config.content = &source;
  ASSERT_TRUE(feed.header(ByteView(header_)).ok());
  ASSERT_TRUE(feed.packet(ByteView(packets_[0])).ok());
  mmsh::ServerSession s(&config, 7, Instant{0});
  const std::string req =
      "GET /live HTTP/1.0\r\nUser-Agent: NSPlayer/7.10.0.3059\r\nHost: x\r\n"
      "Pragma: xPlayStrm=1\r\nConnection: Close\r\n\r\n";
  ASSERT_TRUE(s.on_bytes(ByteView::of(req), Instant{0}).ok());
  (void)drain(&s, Instant{0});
  ASSERT_TRUE(feed.header(ByteView(header_)).ok());
  ASSERT_TRUE(feed.packet(ByteView(packets_[0])).ok());
  const std::vector<std::string> got = frame_list(drain(&s, Instant{kSecond}));
  const std::vector<std::string> want = {"E", "C", "H", "D1"};
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace mms::server
