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
// The stream is decoded with decode_tcp_unit (commands and Data packets on one
// TCP connection, mmsp.md 1.5); Data packets whose incarnation is a header
// incarnation (1..8) go to one HeaderAssembler per case.
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
#include "tests/unit/mmst_describe.h"

namespace mms::mmst {
namespace {

struct VectorCase {
  std::string file;
  std::size_t index = 0;  // within the file
  std::string title;
  std::vector<std::uint8_t> input;
  std::vector<std::string> expect;
};

std::string trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) {
    return "";
  }
  std::size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// Collapses runs of spaces so expectations may be aligned freely.
std::string normalize(const std::string& s) {
  std::istringstream in(s);
  std::string word;
  std::string out;
  while (in >> word) {
    if (!out.empty()) {
      out.push_back(' ');
    }
    out += word;
  }
  return out;
}

bool parse_input_line(const std::string& line, std::vector<std::uint8_t>* out) {
  std::string body = line.substr(0, line.find('#'));
  std::istringstream in(body);
  std::string first;
  in >> first;
  if (first == "fill") {
    std::size_t count = 0;
    std::string byte;
    in >> count >> byte;
    std::vector<std::uint8_t> b;
    if (!in || !parse_hex(byte, &b) || b.size() != 1) {
      return false;
    }
    out->insert(out->end(), count, b[0]);
    return true;
  }
  return parse_hex(body, out);
}

std::vector<VectorCase> load_file(const std::filesystem::path& path) {
  std::vector<VectorCase> cases;
  std::ifstream in(path);
  std::string raw;
  enum class Section { kNone, kInput, kExpect } section = Section::kNone;
  int line_no = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    const std::string line = trim(raw);
    if (line.rfind("## ", 0) == 0) {
      cases.push_back(VectorCase{path.filename().string(), cases.size(), line.substr(3), {}, {}});
      section = Section::kNone;
      continue;
    }
    if (line.empty() || cases.empty()) {
      continue;  // blank lines, file preamble
    }
    if (line.rfind("why:", 0) == 0) {
      continue;
    }
    if (line == "input:") {
      section = Section::kInput;
      continue;
    }
    if (line == "expect:") {
      section = Section::kExpect;
      continue;
    }
    if (line[0] == '#') {
      continue;
    }
    if (section == Section::kInput) {
      EXPECT_TRUE(parse_input_line(line, &cases.back().input))
          << path << ":" << line_no << ": bad input line";
    } else if (section == Section::kExpect) {
      cases.back().expect.push_back(normalize(line));
    } else {
      ADD_FAILURE() << path << ":" << line_no << ": line outside a section: " << line;
    }
  }
  return cases;
}

std::vector<VectorCase> load_all() {
  std::vector<std::filesystem::path> files;
  for (const auto& e :
       std::filesystem::directory_iterator(std::string(MMS_SOURCE_ROOT) + "/tests/vectors/mmst")) {
    if (e.path().extension() == ".vec") {
      files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<VectorCase> all;
  for (const auto& f : files) {
    for (VectorCase& c : load_file(f)) {
      all.push_back(std::move(c));
    }
  }
  return all;
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

std::vector<std::string> run_chunks(const std::vector<std::uint8_t>& in,
                                    const std::vector<std::size_t>& chunks) {
  Runner r;
  std::size_t pos = 0;
  for (std::size_t n : chunks) {
    r.feed(in.data() + pos, n);
    pos += n;
  }
  r.finish();
  return r.log();
}

std::string show(const std::vector<std::string>& log) {
  std::string s;
  for (const auto& l : log) {
    s += "  " + l + "\n";
  }
  return s;
}

class MmstVectors : public ::testing::TestWithParam<VectorCase> {};

TEST_P(MmstVectors, SameEventsWholeByteByByteTrailingAndSplit) {
  const VectorCase& c = GetParam();
  const std::vector<std::uint8_t>& in = c.input;
  SCOPED_TRACE(c.file + ": " + c.title);

  std::vector<std::string> whole = run_chunks(in, {in.size()});
  EXPECT_EQ(whole, c.expect) << "whole input gave:\n" << show(whole);

  std::vector<std::size_t> ones(in.size(), 1);
  EXPECT_EQ(run_chunks(in, ones), c.expect) << "byte by byte";

  const std::vector<std::vector<std::uint8_t>> trailers = {
      {0x01, 0x00, 0x00, 0x00, 0xce, 0xfa, 0x0b, 0xb0},  // a TcpMessageHeader start
      {0xee, 0xee, 0xee},
      {0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0xff, 0xff, 0x00}};  // a Data packet start
  for (const auto& t : trailers) {
    Runner r;
    r.run_with_trailer(in, t);
    EXPECT_EQ(r.log(), c.expect) << "with trailer " << to_hex(t) << ":\n" << show(r.log());
  }

  std::mt19937 rng(static_cast<std::uint32_t>(in.size()) * 2654435761u);
  for (int round = 0; round < 16 && !in.empty(); ++round) {
    std::vector<std::size_t> chunks;
    std::size_t left = in.size();
    std::size_t max_chunk = std::max<std::size_t>(1, in.size() / 3);
    while (left > 0) {
      std::size_t n = std::uniform_int_distribution<std::size_t>(1, max_chunk)(rng);
      n = std::min(n, left);
      chunks.push_back(n);
      left -= n;
    }
    EXPECT_EQ(run_chunks(in, chunks), c.expect) << "random split, round " << round;
  }
}

// gtest prints parameters of failing tests; keep it to the case's name.
void PrintTo(const VectorCase& c, std::ostream* os) {
  *os << c.file << ": " << c.title;
}

std::string case_name(const ::testing::TestParamInfo<VectorCase>& info) {
  std::string stem = info.param.file.substr(0, info.param.file.find('.'));
  for (char& ch : stem) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) {
      ch = '_';
    }
  }
  return stem + "_" + std::to_string(info.param.index);
}

INSTANTIATE_TEST_SUITE_P(Vectors, MmstVectors, ::testing::ValuesIn(load_all()), case_name);

TEST(MmstVectorFiles, EveryFileHasCasesWithExpectations) {
  std::vector<VectorCase> all = load_all();
  EXPECT_GE(all.size(), 40u);
}

}  // namespace
}  // namespace mms::mmst
