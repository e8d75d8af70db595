#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/core/byte_reader.h"
#include "protocol/core/byte_writer.h"
#include "protocol/mmst/udp_receive_window.h"

namespace mms::mmst {
namespace {

constexpr std::uint8_t kInc = kFirstPlayIncarnation + 1;

// Records what the window hands out, as tokens: "D<loc>" a delivery, "L<seq>" a
// loss, "R<seqs>" a resend request; consecutive deliveries and losses are
// written as runs ("D2-18"), a request's numbers too ("R1-32", "R1,3").
class Recorder final : public UdpReceiveWindow::Sink {
 public:
  void on_deliver(ByteView payload, std::uint32_t location_id) override {
    // Each payload is its LocationId (4 bytes LE): a held copy must be intact.
    if (payload.size() != 4 || load_u32le(payload.data()) != location_id) {
      tokens_.push_back({'!', {location_id}});
      return;
    }
    add('D', location_id);
  }
  void on_resend_request(const std::uint32_t* seqs, std::size_t n) override {
    tokens_.push_back({'R', std::vector<std::uint32_t>(seqs, seqs + n)});
  }
  void on_lost(std::uint32_t seq) override { add('L', seq); }
  bool may_replay() const override { return replay; }

  // What was recorded since the last call.
  std::string take() {
    std::ostringstream out;
    for (const Token& t : tokens_) {
      out << (out.tellp() > 0 ? " " : "") << t.kind << runs(t.numbers);
    }
    tokens_.clear();
    return out.str();
  }

  bool replay = false;

 private:
  struct Token {
    char kind;
    std::vector<std::uint32_t> numbers;
  };
  void add(char kind, std::uint32_t n) {
    if (!tokens_.empty() && tokens_.back().kind == kind && tokens_.back().numbers.back() + 1 == n) {
      tokens_.back().numbers.push_back(n);
    } else {
      tokens_.push_back({kind, {n}});
    }
  }
  static std::string runs(const std::vector<std::uint32_t>& v) {
    std::string out;
    for (std::size_t i = 0; i < v.size();) {
      std::size_t j = i;
      while (j + 1 < v.size() && v[j + 1] == v[j] + 1) {
        ++j;
      }
      out += (out.empty() ? "" : ",") + std::to_string(v[i]);
      if (j > i) {
        out += "-" + std::to_string(v[j]);
      }
      i = j + 1;
    }
    return out;
  }
  std::vector<Token> tokens_;
};

constexpr std::int64_t kUnchecked = -2;
constexpr std::int64_t kNone = -1;

// One input to the window and what it must give: the sink's tokens, then
// "dup" (a duplicate), "P<seq>" (a Replay returned) or "tail" (probe_tail()
// asked for more); `deadline_ms`: next_deadline() afterwards.
struct Step {
  enum class Op { kFeed, kFeedRange, kTimeout, kTail, kStart } op;
  std::uint32_t a = 0;  // feed: LocationId (range: first); tail: last location
  std::uint32_t b = 0;  // range: last; tail: packet count
  int af = -1;          // feed: AFFlags (-1: the LocationId's low byte)
  std::int64_t at_ms = 0;
  std::string expect;
  std::int64_t deadline_ms = kUnchecked;
};

Step feed(std::uint32_t loc, std::int64_t at, std::string expect,
          std::int64_t deadline = kUnchecked) {
  return {Step::Op::kFeed, loc, 0, -1, at, std::move(expect), deadline};
}
Step feed_af(std::uint32_t loc, int af, std::int64_t at, std::string expect) {
  return {Step::Op::kFeed, loc, 0, af, at, std::move(expect), kUnchecked};
}
Step feeds(std::uint32_t first, std::uint32_t last, std::int64_t at, std::string expect) {
  return {Step::Op::kFeedRange, first, last, -1, at, std::move(expect), kUnchecked};
}
Step timeout(std::int64_t at, std::string expect, std::int64_t deadline = kUnchecked) {
  return {Step::Op::kTimeout, 0, 0, -1, at, std::move(expect), deadline};
}
Step tail(std::uint32_t last, std::uint32_t count, std::int64_t at, std::string expect) {
  return {Step::Op::kTail, last, count, -1, at, std::move(expect), kUnchecked};
}
// A new play: the next packet sets the sequence.
Step start_later_play() {
  return {Step::Op::kStart, 0, 0, -1, 0, "", kUnchecked};
}

struct Case {
  const char* name;
  bool every_packet;          // Context::every_packet
  std::uint32_t packet_size;  // Context::packet_size
  bool replay;                // Sink::may_replay
  bool from_zero;             // start_play(sequence_from_zero)
  std::vector<Step> steps;
  std::uint32_t lost;
  std::uint32_t recovered;
  bool idle;
};

const std::vector<Case>& cases() {
  // A packet size for which the reorder window holds its least: 16 packets.
  constexpr std::uint32_t kHuge = 1u << 22;
  static const std::vector<Case> c = {
      {"InOrder",
       false,
       1000,
       false,
       true,
       {feed(0, 0, "D0", kNone), feed(1, 1, "D1"), feed(2, 2, "D2", kNone)},
       0,
       0,
       true},
      {"Reordered",
       false,
       1000,
       false,
       true,
       {feed(0, 0, "D0"), feed(2, 0, "R1", 200), feed(1, 5, "D1-2", kNone)},
       0,
       1,
       true},
      {"Duplicate",
       false,
       1000,
       false,
       true,
       {feed(0, 0, "D0"), feed(0, 0, "dup"), feed(2, 0, "R1"), feed(2, 0, "dup"),
        feed(1, 1, "D1-2"), feed(1, 1, "dup")},
       0,
       1,
       true},
      {"GapThenResendFillsIt",
       false,
       1000,
       false,
       true,
       {feed(0, 0, "D0"), feed(1, 0, "D1"), feed(3, 0, "R2", 200), feed(4, 4, "", 200),
        feed(2, 50, "D2-4", kNone)},
       0,
       1,
       true},
      // Asked for again after each retry interval, given up after the deadline;
      // the late copy is a duplicate then.
      {"GapGivenUpAsLoss",
       false,
       1000,
       false,
       true,
       {feed(0, 0, "D0"), feed(2, 0, "R1", 200), timeout(100, "", 200), timeout(200, "R1", 400),
        timeout(999, "R1", 1000), timeout(1000, "L1 D2", kNone), feed(1, 1001, "dup")},
       1,
       0,
       true},
      {"GapGivenUpAsReplay",
       false,
       1000,
       true,
       true,
       {feed(0, 0, "D0"), feed(2, 0, "R1"), timeout(1000, "P1")},
       0,
       0,
       false},
      {"ReorderWindowFullGivesUp",
       false,
       kHuge,
       false,
       true,
       {feed(0, 0, "D0"), feed(2, 0, "R1"), feeds(3, 17, 1, ""), feed(18, 2, "L1 D2-18", kNone)},
       1,
       0,
       true},
      {"ReorderWindowFullReplays",
       false,
       kHuge,
       true,
       true,
       {feed(0, 0, "D0"), feed(2, 0, "R1"), feeds(3, 17, 1, ""), feed(18, 2, "P1")},
       0,
       0,
       false},
      // AFFlags wrap at 256: the sequence goes on, a resend names the 32-bit counter.
      {"SequenceWrap",
       false,
       1000,
       false,
       false,
       {feed_af(254, 254, 0, "D254"), feed_af(255, 255, 0, "D255"), feed_af(256, 0, 0, "D256"),
        feed_af(257, 1, 0, "D257"), feed_af(259, 3, 0, "R258"), feed_af(258, 2, 1, "D258-259")},
       0,
       1,
       true},
      // The server's counter runs on across plays: a later play's first packet
      // follows the highest sequence seen.
      {"LaterPlayContinuesTheCounter",
       false,
       1000,
       false,
       true,
       {feed(0, 0, "D0"), feed(1, 0, "D1"), start_later_play(), feed_af(100, 4, 0, "D100"),
        feed_af(102, 6, 0, "R5")},
       0,
       0,
       false},
      // Every packet sent: sequence - LocationId shows that 300 packets were
      // lost, which AFFlags alone (45) would not; 256 are asked for at once,
      // the rest in the next round.
      {"LocationIdRevealsALongBurst",
       true,
       1000,
       false,
       true,
       {feed(0, 0, "D0"),
        feed(301, 0, "R1-32 R33-64 R65-96 R97-128 R129-160 R161-192 R193-224 R225-256", 1),
        timeout(1, "R257-288 R289-300", 200), feeds(1, 300, 10, "D1-301")},
       0,
       300,
       true},
      {"JumpGivesUpAtOnce",
       true,
       1000,
       false,
       true,
       {feed(0, 0, "D0"), feed(9000, 0, "L1-8999 D9000", kNone)},
       8999,
       0,
       true},
      {"JumpReplays", true, 1000, true, true, {feed(0, 0, "D0"), feed(9000, 0, "P1")}, 0, 0, true},
      // A recovered resend's round trip (20 ms) sets the retry interval: 4 x 20 ms.
      {"ResendRetryFollowsTheRoundTrip",
       false,
       1000,
       false,
       true,
       {feed(0, 0, "D0"), feed(2, 0, "R1", 200), feed(1, 20, "D1-2"), feed(4, 20, "R3", 100),
        timeout(99, ""), timeout(100, "R3", 180)},
       0,
       1,
       false},
      // The end of a play: the packets still to come are asked for, a batch at a time.
      {"TailProbe",
       true,
       1000,
       false,
       true,
       {feeds(0, 2, 0, "D0-2"), tail(2, 40, 10, "R3-34 tail"), feeds(3, 34, 20, "D3-34"),
        tail(34, 40, 30, "R35-39 tail"), feeds(35, 39, 40, "D35-39"), tail(39, 40, 50, "")},
       0,
       37,
       true},
      {"TailBatchRecoveringNothingEnds",
       true,
       1000,
       false,
       true,
       {feeds(0, 2, 0, "D0-2"), tail(2, 100, 0, "R3-34 tail"), timeout(1000, "L3-34", kNone),
        tail(2, 100, 1000, "")},
       32,
       0,
       true},
  };
  return c;
}

DataPacket packet(std::uint32_t loc, int af, std::vector<std::uint8_t>* storage) {
  storage->clear();
  ByteWriter w(storage);
  w.u32le(loc);
  DataPacket p;
  p.location_id = loc;
  p.play_incarnation = kInc;
  p.af_flags = static_cast<std::uint8_t>(af < 0 ? loc & 0xFFu : static_cast<unsigned>(af));
  p.payload = ByteView(storage->data(), storage->size());
  return p;
}

TEST(MmstUdpReceiveWindow, Table) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    Recorder rec;
    rec.replay = c.replay;
    UdpReceiveWindow w(&rec);
    w.start_play(kInc, std::nullopt, c.from_zero);
    UdpReceiveWindow::Context ctx;
    ctx.every_packet = c.every_packet;
    ctx.packet_size = c.packet_size;
    std::vector<std::uint8_t> storage;
    for (std::size_t i = 0; i < c.steps.size(); ++i) {
      SCOPED_TRACE(i);
      const Step& s = c.steps[i];
      const Instant now{s.at_ms * kMillisecond};
      std::string result;
      auto feed_one = [&](std::uint32_t loc, int af) {
        const DataPacket p = packet(loc, af, &storage);
        w.note(p, ctx.every_packet);
        UdpReceiveWindow::Fed fed = w.feed(p, now, ctx);
        if (fed.duplicate) {
          result += " dup";
        }
        if (fed.replay) {
          result += " P" + std::to_string(fed.replay->seq);
        }
      };
      switch (s.op) {
        case Step::Op::kFeed:
          feed_one(s.a, s.af);
          break;
        case Step::Op::kFeedRange:
          for (std::uint32_t loc = s.a; loc <= s.b; ++loc) {
            feed_one(loc, -1);
          }
          break;
        case Step::Op::kTimeout:
          if (std::optional<UdpReceiveWindow::Replay> r = w.on_timeout(now, ctx)) {
            result += " P" + std::to_string(r->seq);
          }
          break;
        case Step::Op::kTail:
          if (w.probe_tail(s.a, s.b, now, ctx)) {
            result += " tail";
          }
          break;
        case Step::Op::kStart:
          w.start_play(kInc + 1, std::nullopt, false);
          break;
      }
      std::string got = rec.take() + result;
      if (!got.empty() && got.front() == ' ') {
        got.erase(0, 1);
      }
      EXPECT_EQ(got, s.expect);
      if (s.deadline_ms == kNone) {
        EXPECT_FALSE(w.next_deadline().has_value());
      } else if (s.deadline_ms != kUnchecked) {
        ASSERT_TRUE(w.next_deadline().has_value());
        EXPECT_EQ(w.next_deadline()->ns, s.deadline_ms * kMillisecond);
      }
      w.release_storage();
    }
    EXPECT_EQ(w.lost(), c.lost);
    EXPECT_EQ(w.recovered(), c.recovered);
    EXPECT_EQ(w.idle(), c.idle);
  }
}

// A play from a known packet (resume, replay) with every packet sent: the
// first packets to arrive may come after lost ones; the window expects the
// play's first packet and asks for what is missing before.
TEST(MmstUdpReceiveWindow, PlayFromAKnownPacketExpectsItFirst) {
  Recorder rec;
  UdpReceiveWindow w(&rec);
  UdpReceiveWindow::Context ctx;
  ctx.every_packet = true;
  ctx.packet_size = 1000;
  std::vector<std::uint8_t> storage;
  w.start_play(kInc, std::nullopt, true);
  for (std::uint32_t loc = 0; loc < 3; ++loc) {
    (void)w.feed(packet(loc, -1, &storage), Instant{}, ctx);
  }
  EXPECT_EQ(rec.take(), "D0-2");
  // The server's counter is at 2; the new play starts at LocationId 10, whose
  // first two datagrams are lost: the first to come is 12 (sequence 5).
  w.start_play(kInc + 1, 10, false);
  DataPacket p = packet(12, 5, &storage);
  p.play_incarnation = kInc + 1;
  UdpReceiveWindow::Fed fed = w.feed(p, Instant{}, ctx);
  EXPECT_FALSE(fed.duplicate);
  EXPECT_EQ(rec.take(), "R3-4");
  p = packet(10, 3, &storage);
  p.play_incarnation = kInc + 1;
  (void)w.feed(p, Instant{}, ctx);
  p = packet(11, 4, &storage);
  p.play_incarnation = kInc + 1;
  (void)w.feed(p, Instant{}, ctx);
  EXPECT_EQ(rec.take(), "D10-12");
  EXPECT_TRUE(w.idle());
  EXPECT_EQ(w.recovered(), 2u);
}

// No UDP channel to ask on: nothing is requested, the loss deadline still holds.
TEST(MmstUdpReceiveWindow, NoRequestsWithoutAChannel) {
  Recorder rec;
  UdpReceiveWindow w(&rec);
  UdpReceiveWindow::Context ctx;
  ctx.packet_size = 1000;
  ctx.can_request = false;
  std::vector<std::uint8_t> storage;
  w.start_play(kInc, std::nullopt, true);
  (void)w.feed(packet(0, -1, &storage), Instant{}, ctx);
  (void)w.feed(packet(2, -1, &storage), Instant{}, ctx);
  EXPECT_EQ(rec.take(), "D0");
  ASSERT_TRUE(w.next_deadline().has_value());
  EXPECT_EQ(w.next_deadline()->ns, kUdpLossDeadline);
  EXPECT_FALSE(w.on_timeout(Instant{kUdpLossDeadline}, ctx).has_value());
  EXPECT_EQ(rec.take(), "L1 D2");
}

}  // namespace
}  // namespace mms::mmst
