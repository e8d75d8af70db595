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

namespace mms::mmsh {
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
       std::filesystem::directory_iterator(std::string(MMS_SOURCE_ROOT) + "/tests/vectors/mmsh")) {
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

class MmshVectors : public ::testing::TestWithParam<VectorCase> {};

TEST_P(MmshVectors, SameEventsWholeByteByByteTrailingAndSplit) {
  const VectorCase& c = GetParam();
  const std::vector<std::uint8_t>& in = c.input;
  SCOPED_TRACE(c.file + ": " + c.title);

  std::vector<std::string> whole = run_chunks(in, {in.size()});
  EXPECT_EQ(whole, c.expect) << "whole input gave:\n" << show(whole);

  std::vector<std::size_t> ones(in.size(), 1);
  EXPECT_EQ(run_chunks(in, ones), c.expect) << "byte by byte";

  const std::vector<std::vector<std::uint8_t>> trailers = {
      {0x24, 0x54, 0x00, 0x00}, {0xee, 0xee, 0xee}, {0x24, 0x44, 0xff, 0xff, 0, 0, 0, 0}};
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

INSTANTIATE_TEST_SUITE_P(Vectors, MmshVectors, ::testing::ValuesIn(load_all()), case_name);

TEST(MmshVectorFiles, EveryFileHasCasesWithExpectations) {
  std::vector<VectorCase> all = load_all();
  EXPECT_GE(all.size(), 30u);
}

}  // namespace
}  // namespace mms::mmsh
