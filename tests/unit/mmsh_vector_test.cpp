// Runs the readable MMSH framing vectors in tests/vectors/mmsh/*.vec.
//
// Vector grammar (one file holds several cases; '#' at the start of a line outside
// a case, and after hex on input lines, is a comment):
//
//   ## <title>                      starts a case
//   why: <text>                     optional: what the case protects
//   input:                          indented lines until "expect:", each either
//     <hex bytes> [# comment]         whitespace-separated hex, or
//     fill <count> <hex byte>         <count> copies of one byte
//   expect:                         indented event lines until the next "##", one of
//     frame type=<T> burst=<0|1> len=<PacketLength> [location=<n> incarnation=<n>
//           afflags=0x<hh>] [reason=0x<8 hex>] payload=<bytes> wire=<bytes>
//     header type=<H|M> bytes=<n>         a HeaderAssembler completed an object
//     header-error type=<H|M> code=<c>    a HeaderAssembler rejected a fragment
//     error code=<c>                      decode_frame failed; decoding stops
//     need-more                           bytes remain that do not form a frame
//
// <T> is the PacketID letter, or 0x<hh> when it is not a letter; location and
// friends are printed for $H/$D/$M, reason for $C/$E/$P; <c> is to_string(Code).
// The decoder runs with one FrameContext per case and one HeaderAssembler per
// type ($H, $M), fed with every decoded frame of that type.
//
// Every case is fed four ways and must give the expected log each time:
//  (a) whole, (b) one byte at a time into a growing buffer, calling decode_frame
//  until it stops completing frames (as a client does), (c) with bytes appended
//  after the input (a $T frame; garbage), events past the input's end ignored,
//  (d) split at random points (fixed seeds).
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
#include "protocol/mmsh/framing.h"
#include "tests/support/vectors.h"

namespace mms::mmsh {
namespace {

using test::VectorCase;

std::vector<VectorCase> load_all() {
  return test::load_vectors("mmsh");
}

std::string type_name(std::uint8_t t) {
  if ((t >= 'A' && t <= 'Z') || (t >= 'a' && t <= 'z')) {
    return std::string(1, static_cast<char>(t));
  }
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", t);
  return buf;
}

std::string frame_event(const Frame& f) {
  char buf[256];
  std::string s = "frame type=" + type_name(f.type) + " burst=" + (f.burst ? "1" : "0") +
                  " len=" + std::to_string(f.length);
  if (f.has_data_header) {
    std::snprintf(buf, sizeof buf, " location=%u incarnation=%u afflags=0x%02x", f.location_id,
                  f.incarnation, f.af_flags);
    s += buf;
  }
  if (f.has_reason) {
    std::snprintf(buf, sizeof buf, " reason=0x%08x", f.reason);
    s += buf;
  }
  s += " payload=" + std::to_string(f.payload.size()) + " wire=" + std::to_string(f.wire_size);
  return s;
}

// Decoding state of one run: what a client keeps between reads.
class Runner {
 public:
  // Decodes what it can from buf_[off_..]; false once an error stopped it.
  bool pump() {
    while (!stopped_) {
      Frame f;
      Status err;
      Decode d = decode_frame(ByteView(buf_).subview(off_), &f, &err, &ctx_);
      if (d == Decode::kNeedMore) {
        return true;
      }
      if (d == Decode::kError) {
        log_.push_back(std::string("error code=") + to_string(err.code()));
        stopped_ = true;
        return false;
      }
      EXPECT_GE(f.wire_size, 4u);
      EXPECT_LE(f.wire_size, buf_.size() - off_);
      on_frame(f);
      off_ += f.wire_size;
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

  // Mode (c): input of `len` bytes followed by a trailer, decoded in one go;
  // only frames that end within the input count.
  void run_with_trailer(const std::vector<std::uint8_t>& input,
                        const std::vector<std::uint8_t>& trailer) {
    buf_ = input;
    buf_.insert(buf_.end(), trailer.begin(), trailer.end());
    const std::size_t len = input.size();
    while (off_ < len) {
      Frame f;
      Status err;
      FrameContext before = ctx_;
      Decode d = decode_frame(ByteView(buf_).subview(off_), &f, &err, &ctx_);
      if (d == Decode::kDone && off_ + f.wire_size <= len) {
        on_frame(f);
        off_ += f.wire_size;
        continue;
      }
      if (d == Decode::kError) {
        // An error caused by trailer bytes is a NeedMore for the input alone.
        Frame g;
        Status e2;
        if (decode_frame(ByteView(input).subview(off_), &g, &e2, &before) == Decode::kError) {
          log_.push_back(std::string("error code=") + to_string(err.code()));
          return;
        }
      }
      log_.push_back("need-more");
      return;
    }
  }

 private:
  void on_frame(const Frame& f) {
    log_.push_back(frame_event(f));
    HeaderAssembler* a = nullptr;
    if (f.type == kFrameHeader) {
      a = &header_;
    } else if (f.type == kFrameMeta) {
      a = &meta_;
    }
    if (a == nullptr) {
      return;
    }
    Result<bool> r = a->add(f);
    if (!r.ok()) {
      log_.push_back("header-error type=" + type_name(f.type) +
                     " code=" + to_string(r.status().code()));
    } else if (*r) {
      log_.push_back("header type=" + type_name(f.type) +
                     " bytes=" + std::to_string(a->header().size()));
    }
  }

  std::vector<std::uint8_t> buf_;
  std::size_t off_ = 0;
  bool stopped_ = false;
  FrameContext ctx_;
  HeaderAssembler header_;
  HeaderAssembler meta_;
  std::vector<std::string> log_;
};

test::VectorRunner runner_for(const VectorCase& c) {
  return test::runner_of(c, [] { return Runner(); });
}

class MmshVectors : public ::testing::TestWithParam<VectorCase> {};

TEST_P(MmshVectors, SameEventsWholeByteByByteTrailingAndSplit) {
  const std::vector<std::vector<std::uint8_t>> trailers = {
      {0x24, 0x54, 0x00, 0x00}, {0xee, 0xee, 0xee}, {0x24, 0x44, 0xff, 0xff, 0, 0, 0, 0}};
  test::expect_same_events_four_ways(GetParam(), runner_for(GetParam()), trailers);
}

INSTANTIATE_TEST_SUITE_P(Vectors, MmshVectors, ::testing::ValuesIn(load_all()),
                         test::vector_case_name);

TEST(MmshVectorFiles, EveryFileHasCasesWithExpectations) {
  const std::vector<VectorCase> all = load_all();
  EXPECT_GE(all.size(), 30u);
  for (const VectorCase& c : all) {
    EXPECT_TRUE(!c.expect.empty() || c.input.empty()) << c.file << ": " << c.title << ": no events";
  }
}

}  // namespace
}  // namespace mms::mmsh
