// The readable test vectors of tests/vectors/<dir>/*.vec: one reader for every
// decoder's vectors and one four-way runner.
//
// Grammar (one file holds several cases; '#' at the start of a line outside a
// case, and after hex on input lines, is a comment):
//
//   ## <title>                      starts a case
//   why: <text>                     optional: what the case protects
//   <key>: <value>                  optional case settings before "input:" (e.g. maxps: 1400),
//                                   in VectorCase::settings
//   input:                          indented lines until "expect:", each one of
//     <hex bytes> [# comment]         whitespace-separated hex
//     fill <count> <hex byte>         <count> copies of one byte
//     text: <text>                    the text after "text: " then CR LF (no '#' comments)
//     raw: <text>                     the text after "raw: " with \r \n \t \\ escapes, no line end
//   expect:                         indented event lines until the next "##" (runs of spaces
//                                   collapse, so columns may be aligned)
//
// What the event lines say is the decoder's own grammar, given in its runner
// (tests/unit/*_vector_test.cpp).
//
// Every case is fed four ways and must give the expected log each time:
//  (a) whole, (b) one byte at a time into a growing buffer (as a client reads),
//  (c) with bytes appended after the input, events past the input's end
//  ignored, (d) split at random points (fixed seeds).
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <ostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/core/bytes.h"

namespace mms::test {

struct VectorCase {
  std::string file;
  std::size_t index = 0;  // within the file
  std::string title;
  std::map<std::string, std::string> settings;
  std::vector<std::uint8_t> input;
  std::vector<std::string> expect;

  // A numeric setting, or `fallback` when the case has none.
  std::uint32_t setting_u32(const std::string& key, std::uint32_t fallback = 0) const {
    auto it = settings.find(key);
    return it == settings.end() ? fallback : static_cast<std::uint32_t>(std::stoul(it->second));
  }
};

namespace vectors_detail {

inline std::string trim(const std::string& s) {
  const std::size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) {
    return "";
  }
  const std::size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

inline std::string normalize(const std::string& s) {
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

// "text:" / "raw:" lines: the rest of the raw line (leading indentation kept out).
inline void append_text_line(const std::string& raw, const char* kw,
                             std::vector<std::uint8_t>* out) {
  std::string r = raw;
  if (!r.empty() && r.back() == '\r') {
    r.pop_back();
  }
  std::string body = r.substr(r.find(kw) + std::string(kw).size());
  if (!body.empty() && body[0] == ' ') {
    body.erase(0, 1);
  }
  if (kw[0] == 'r') {
    std::string unescaped;
    for (std::size_t i = 0; i < body.size(); ++i) {
      if (body[i] == '\\' && i + 1 < body.size()) {
        const char e = body[++i];
        unescaped.push_back(e == 'r' ? '\r' : e == 'n' ? '\n' : e == 't' ? '\t' : e);
      } else {
        unescaped.push_back(body[i]);
      }
    }
    body = unescaped;
  }
  out->insert(out->end(), body.begin(), body.end());
  if (kw[0] == 't') {
    out->push_back('\r');
    out->push_back('\n');
  }
}

inline bool parse_hex_line(const std::string& line, std::vector<std::uint8_t>* out) {
  const std::string body = line.substr(0, line.find('#'));
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

// "key: value" with a lower-case key.
inline bool split_setting(const std::string& line, std::string* key, std::string* value) {
  const std::size_t colon = line.find(':');
  if (colon == std::string::npos || colon == 0) {
    return false;
  }
  for (std::size_t i = 0; i < colon; ++i) {
    const char c = line[i];
    if (!(std::islower(static_cast<unsigned char>(c)) || c == '_' || c == '-')) {
      return false;
    }
  }
  *key = line.substr(0, colon);
  *value = trim(line.substr(colon + 1));
  return true;
}

}  // namespace vectors_detail

inline std::vector<VectorCase> load_vector_file(const std::filesystem::path& path) {
  using namespace vectors_detail;  // NOLINT(google-build-using-namespace)
  std::vector<VectorCase> cases;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path << ": cannot read";
  std::string raw;
  enum class Section { kNone, kInput, kExpect } section = Section::kNone;
  int line_no = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    const std::string line = trim(raw);
    if (line.rfind("## ", 0) == 0) {
      VectorCase c;
      c.file = path.filename().string();
      c.index = cases.size();
      c.title = line.substr(3);
      cases.push_back(std::move(c));
      section = Section::kNone;
      continue;
    }
    if (line.empty() || cases.empty()) {
      continue;  // blank lines, file preamble
    }
    if (section == Section::kInput) {
      bool text = false;
      for (const char* kw : {"text:", "raw:"}) {
        if (line.rfind(kw, 0) == 0) {
          append_text_line(raw, kw, &cases.back().input);
          text = true;
          break;
        }
      }
      if (text) {
        continue;
      }
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
    std::string key;
    std::string value;
    if (section == Section::kInput) {
      EXPECT_TRUE(parse_hex_line(line, &cases.back().input))
          << path << ":" << line_no << ": bad input line";
    } else if (section == Section::kExpect) {
      cases.back().expect.push_back(normalize(line));
    } else if (split_setting(line, &key, &value)) {
      cases.back().settings[key] = value;
    } else {
      ADD_FAILURE() << path << ":" << line_no << ": line outside a section: " << line;
    }
  }
  return cases;
}

// Every case of tests/vectors/<dir>/*.vec, files in name order.
inline std::vector<VectorCase> load_vectors(const std::string& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(std::string(MMS_SOURCE_ROOT) +
                                                           "/tests/vectors/" + dir)) {
    if (e.path().extension() == ".vec") {
      files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<VectorCase> all;
  for (const auto& f : files) {
    for (VectorCase& c : load_vector_file(f)) {
      all.push_back(std::move(c));
    }
  }
  return all;
}

inline std::string show(const std::vector<std::string>& log) {
  std::string s;
  for (const auto& l : log) {
    s += "  " + l + "\n";
  }
  return s;
}

// How a decoder's runner is driven: `chunks` feeds the input in pieces of
// the given sizes, then ends it; `trailer` feeds input + trailer in one go and
// logs only events that end within the input.
struct VectorRunner {
  std::function<std::vector<std::string>(const std::vector<std::size_t>& chunks)> chunks;
  std::function<std::vector<std::string>(const std::vector<std::uint8_t>& trailer)> trailer;
};

// The VectorRunner of a decoder runner type: `make()` builds a fresh Runner
// with feed(data, n), finish(), run_with_trailer(input, trailer) and log().
template <typename Make>
VectorRunner runner_of(const VectorCase& c, Make make) {
  VectorRunner run;
  run.chunks = [&c, make](const std::vector<std::size_t>& chunks) {
    auto r = make();
    std::size_t pos = 0;
    for (std::size_t n : chunks) {
      r.feed(c.input.data() + pos, n);
      pos += n;
    }
    r.finish();
    return r.log();
  };
  run.trailer = [&c, make](const std::vector<std::uint8_t>& trailer) {
    auto r = make();
    r.run_with_trailer(c.input, trailer);
    return r.log();
  };
  return run;
}

// The four ways; every one must give the case's expected log.
inline void expect_same_events_four_ways(const VectorCase& c, const VectorRunner& run,
                                         const std::vector<std::vector<std::uint8_t>>& trailers) {
  const std::vector<std::uint8_t>& in = c.input;
  SCOPED_TRACE(c.file + ": " + c.title);

  const std::vector<std::string> whole = run.chunks({in.size()});
  EXPECT_EQ(whole, c.expect) << "whole input gave:\n" << show(whole);

  const std::vector<std::size_t> ones(in.size(), 1);
  const std::vector<std::string> bytes = run.chunks(ones);
  EXPECT_EQ(bytes, c.expect) << "byte by byte gave:\n" << show(bytes);

  for (const auto& t : trailers) {
    const std::vector<std::string> got = run.trailer(t);
    EXPECT_EQ(got, c.expect) << "with trailer " << to_hex(t) << ":\n" << show(got);
  }

  std::mt19937 rng(static_cast<std::uint32_t>(in.size()) * 2654435761u);
  for (int round = 0; round < 16 && !in.empty(); ++round) {
    std::vector<std::size_t> chunks;
    std::size_t left = in.size();
    const std::size_t max_chunk = std::max<std::size_t>(1, in.size() / 3);
    while (left > 0) {
      const std::size_t n =
          std::min(std::uniform_int_distribution<std::size_t>(1, max_chunk)(rng), left);
      chunks.push_back(n);
      left -= n;
    }
    EXPECT_EQ(run.chunks(chunks), c.expect) << "random split, round " << round;
  }
}

// gtest prints parameters of failing tests; keep it to the case's name.
inline void PrintTo(const VectorCase& c, std::ostream* os) {
  *os << c.file << ": " << c.title;
}

inline std::string vector_case_name(const ::testing::TestParamInfo<VectorCase>& info) {
  std::string stem = info.param.file.substr(0, info.param.file.find('.'));
  for (char& ch : stem) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) {
      ch = '_';
    }
  }
  return stem + "_" + std::to_string(info.param.index);
}

}  // namespace mms::test
