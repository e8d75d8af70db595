// Runs the readable MMS (MS-MMSP) TCP vectors in tests/vectors/mmst/*.vec.
//
// Vector grammar (as tests/vectors/mmsh; '#' at the start of a line outside a
// case, and after hex on input lines, is a comment):
//
//   ## <title>                      starts a case
//   why: <text>                     optional: what the case protects
//   input:                          indented lines until "expect:", each either
//     <hex bytes> [# comment]         whitespace-separated hex, or
//     fill <count> <hex byte>         <count> copies of one byte
//   expect:                         indented event lines until the next "##", one of
//     message <MID name> seq=<n> wire=<n> [extra=<n>] <fields>
//                                     a command (mmst_describe.h gives the field list);
//                                     further messages in the same TCP packet follow
//                                     as their own "message" lines with wire=0
//     data location=<n> incarnation=<n> afflags=0x<hh> size=<n> payload=<n>
//     header bytes=<n>                    the HeaderAssembler completed the ASF header
//     header-error code=<c>               the HeaderAssembler rejected a fragment
//     error code=<c>                      decoding failed; decoding stops
//     need-more                           bytes remain that do not form a unit
//
// The stream is decoded with decode_tcp_unit (commands and Data packets on one TCP connection,
// docs/protocols/mmsp-reference.md §1.5); Data packets whose incarnation is a header incarnation
// (1..8) go to one HeaderAssembler per case.
//
// Every case is fed four ways and must give the expected log each time:
//  (a) whole, (b) one byte at a time into a growing buffer, (c) with bytes
//  appended after the input, events past the input's end ignored, (d) split at
//  random points (fixed seeds).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/core/bytes.h"
#include "protocol/mmst/messages.h"
#include "tests/support/vectors.h"
#include "tests/unit/mmst_describe.h"

namespace mms::mmst {
namespace {

using test::VectorCase;

std::vector<VectorCase> load_all() {
  return test::load_vectors("mmst");
}

// Decoding state of one run: what a client keeps between reads.
class Runner {
 public:
  // Decodes what it can from buf_[off_..]; false once an error stopped it.
  bool pump() {
    while (!stopped_) {
      Unit u;
      Status err;
      Decode d = decode_tcp_unit(ByteView(buf_).subview(off_), &u, &err);
      if (d == Decode::kNeedMore) {
        return true;
      }
      if (d == Decode::kError) {
        log_.push_back(std::string("error code=") + to_string(err.code()));
        stopped_ = true;
        return false;
      }
      EXPECT_GE(u.wire_size, 8u);
      EXPECT_LE(u.wire_size, buf_.size() - off_);
      if (!on_unit(u)) {
        stopped_ = true;
        return false;
      }
      off_ += u.wire_size;
    }
    return false;
  }
  void feed(const std::uint8_t* p, std::size_t n) {
    buf_.insert(buf_.end(), p, p + n);
    pump();
  }
  void finish() {
    if (!stopped_ && off_ < buf_.size()) {
      log_.push_back("need-more");
    }
  }
  const std::vector<std::string>& log() const { return log_; }

  // Mode (c): the input followed by a trailer, decoded in one go; only units
  // that end within the input count.
  void run_with_trailer(const std::vector<std::uint8_t>& input,
                        const std::vector<std::uint8_t>& trailer) {
    buf_ = input;
    buf_.insert(buf_.end(), trailer.begin(), trailer.end());
    const std::size_t len = input.size();
    while (off_ < len) {
      Unit u;
      Status err;
      Decode d = decode_tcp_unit(ByteView(buf_).subview(off_), &u, &err);
      if (d == Decode::kDone && off_ + u.wire_size <= len) {
        if (!on_unit(u)) {
          return;
        }
        off_ += u.wire_size;
        continue;
      }
      if (d == Decode::kError) {
        // An error caused by trailer bytes is a NeedMore for the input alone.
        Unit g;
        Status e2;
        if (decode_tcp_unit(ByteView(input).subview(off_), &g, &e2) == Decode::kError) {
          log_.push_back(std::string("error code=") + to_string(err.code()));
          return;
        }
      }
      log_.push_back("need-more");
      return;
    }
  }

 private:
  // Logs a unit; false if a further message in the packet failed to decode.
  bool on_unit(const Unit& u) {
    if (u.kind == Unit::Kind::kMessage) {
      log_.push_back(testing::describe(u.message));
      ByteView rest = u.message.extra_messages;
      while (!rest.empty()) {
        Message m;
        m.header = u.message.header;
        std::size_t used = 0;
        Status err;
        if (decode_body(rest, &m, &used, &err) != Decode::kDone) {
          log_.push_back(std::string("error code=") + to_string(err.code()));
          return false;
        }
        EXPECT_GE(used, 8u);
        log_.push_back(testing::describe(m));
        rest = rest.subview(used);
      }
      return true;
    }
    log_.push_back(testing::describe(u.data));
    if (!is_header_incarnation(u.data.play_incarnation)) {
      return true;
    }
    Result<bool> r = header_.add(u.data);
    if (!r.ok()) {
      log_.push_back(std::string("header-error code=") + to_string(r.status().code()));
    } else if (*r) {
      log_.push_back("header bytes=" + std::to_string(header_.header().size()));
    }
    return true;
  }

  std::vector<std::uint8_t> buf_;
  std::size_t off_ = 0;
  bool stopped_ = false;
  HeaderAssembler header_;
  std::vector<std::string> log_;
};

test::VectorRunner runner_for(const VectorCase& c) {
  return test::runner_of(c, [] { return Runner(); });
}

class MmstVectors : public ::testing::TestWithParam<VectorCase> {};

TEST_P(MmstVectors, SameEventsWholeByteByByteTrailingAndSplit) {
  const std::vector<std::vector<std::uint8_t>> trailers = {
      {0x01, 0x00, 0x00, 0x00, 0xce, 0xfa, 0x0b, 0xb0},  // a TcpMessageHeader start
      {0xee, 0xee, 0xee},
      {0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0xff, 0xff, 0x00}};
  test::expect_same_events_four_ways(GetParam(), runner_for(GetParam()), trailers);
}

INSTANTIATE_TEST_SUITE_P(Vectors, MmstVectors, ::testing::ValuesIn(load_all()),
                         test::vector_case_name);

TEST(MmstVectorFiles, EveryFileHasCasesWithExpectations) {
  const std::vector<VectorCase> all = load_all();
  EXPECT_GE(all.size(), 40u);
  for (const VectorCase& c : all) {
    EXPECT_TRUE(!c.expect.empty() || c.input.empty()) << c.file << ": " << c.title << ": no events";
  }
}

}  // namespace
}  // namespace mms::mmst
