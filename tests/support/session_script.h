// Session scripts: a client session's dialogue with a server, as text.
// tests/vectors/<dir>/*.script; one file holds several cases.
//
//   ## <title>                      starts a case
//   why: <text>                     optional
//   <key>: <value>                  settings before "script:" (url, user, password, ...)
//   script:                         the steps, in order, until the next "##":
//     play [<position ms>]            session.play()
//     connected                       on_connected() of the last TCP channel opened
//     peer:                           bytes the server sends on that channel; the lines
//       <hex bytes> [# comment]         below it (one level deeper) are hex, "fill N XX",
//       fill <count> <hex byte>         "text: ..." (+ CR LF), "raw: ..." (escapes \r \n \t),
//       text: <text>                    or a directive of the protocol's runner
//       <directive>: <arguments>        (e.g. "mms: ReportOpenFile hr=0", "sdp: small.asf");
//                                       "{length}" in the bytes becomes the number of bytes
//                                       after the first empty line that follows it
//     eof                             on_eof() of that channel
//     advance <ms>                    the clock moves on
//     timeout                         on_timeout()
//     close                           session.close()
//     > <line>                        what the step before must produce: one line per I/O
//                                     action and message sent, in order, then one per event,
//                                     in order (grammar of the protocol's runner,
//                                     tests/unit/session_script_test.cpp)
//
// Every case runs three ways and must give the same lines each time: each
// "peer:" block fed whole, one byte at a time, and split at random points
// (fixed seeds). A mismatch names the case, the step and the way.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/session/client_session.h"
#include "tests/support/vectors.h"

namespace mms::test {

struct ScriptStep {
  std::string verb;  // play, connected, peer, eof, advance, timeout, close
  std::string arg;
  int line_no = 0;
  std::vector<std::string> content;  // peer: its lines
  std::vector<std::string> expect;   // "> " lines, normalized
};

struct ScriptCase {
  std::string file;
  std::string title;
  std::map<std::string, std::string> settings;
  std::vector<ScriptStep> steps;

  std::string setting(const std::string& key, const std::string& fallback = "") const {
    auto it = settings.find(key);
    return it == settings.end() ? fallback : it->second;
  }
};

inline std::vector<ScriptCase> load_script_file(const std::filesystem::path& path) {
  using vectors_detail::normalize;
  using vectors_detail::split_setting;
  using vectors_detail::trim;
  std::vector<ScriptCase> cases;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path << ": cannot read";
  std::string raw;
  bool in_script = false;
  int line_no = 0;
  static const char* const kVerbs[] = {"play",    "connected", "peer:", "eof",
                                       "advance", "timeout",   "close"};
  while (std::getline(in, raw)) {
    ++line_no;
    if (!raw.empty() && raw.back() == '\r') {
      raw.pop_back();
    }
    const std::string line = trim(raw);
    if (line.rfind("## ", 0) == 0) {
      ScriptCase c;
      c.file = path.filename().string();
      c.title = line.substr(3);
      cases.push_back(std::move(c));
      in_script = false;
      continue;
    }
    if (cases.empty() || (line.empty() && !in_script) || (!in_script && line[0] == '#')) {
      continue;
    }
    ScriptCase& c = cases.back();
    if (!in_script) {
      std::string key;
      std::string value;
      if (line == "script:") {
        in_script = true;
      } else if (line.rfind("why:", 0) == 0) {
        continue;
      } else if (split_setting(line, &key, &value)) {
        c.settings[key] = value;
      } else {
        ADD_FAILURE() << path << ":" << line_no << ": line outside a section: " << line;
      }
      continue;
    }
    if (line.empty() || line[0] == '#') {
      continue;
    }
    if (line[0] == '>') {
      if (c.steps.empty()) {
        ADD_FAILURE() << path << ":" << line_no << ": expectation before any step";
        continue;
      }
      c.steps.back().expect.push_back(normalize(line.substr(1)));
      continue;
    }
    std::istringstream words(line);
    std::string verb;
    words >> verb;
    bool is_verb = false;
    for (const char* v : kVerbs) {
      is_verb = is_verb || verb == v;
    }
    if (is_verb) {
      ScriptStep s;
      s.verb = verb == "peer:" ? "peer" : verb;
      s.arg = trim(line.substr(verb.size()));
      s.line_no = line_no;
      c.steps.push_back(std::move(s));
    } else if (!c.steps.empty() && c.steps.back().verb == "peer" && c.steps.back().expect.empty()) {
      const std::size_t indent = raw.find_first_not_of(" \t");
      c.steps.back().content.push_back(raw.substr(indent));
    } else {
      ADD_FAILURE() << path << ":" << line_no << ": not a step: " << line;
    }
  }
  return cases;
}

// Every case of tests/vectors/<dir>/*.script, files in name order.
inline std::vector<ScriptCase> load_scripts(const std::string& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(std::string(MMS_SOURCE_ROOT) +
                                                           "/tests/vectors/" + dir)) {
    if (e.path().extension() == ".script") {
      files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<ScriptCase> all;
  for (const auto& f : files) {
    for (ScriptCase& c : load_script_file(f)) {
      all.push_back(std::move(c));
    }
  }
  return all;
}

// What a protocol gives the runner: its session, a directive encoder for peer
// lines, and how the client's bytes on a channel read as lines.
struct ScriptProtocol {
  std::function<std::unique_ptr<session::ClientSession>(const ScriptCase&)> make;
  // Appends the bytes of directive `name` with `args`; false: unknown or bad.
  std::function<bool(const std::string& name, const std::string& args,
                     std::vector<std::uint8_t>* out)>
      directive;
  // Lines for what the client wrote (one TCP write may hold several messages).
  std::function<std::vector<std::string>(const std::string& bytes)> describe_sent;
};

namespace script_detail {

// The peer block's bytes, "{length}" resolved.
inline bool peer_bytes(const ScriptProtocol& proto, const ScriptStep& step,
                       std::vector<std::uint8_t>* out, std::string* why) {
  for (const std::string& l : step.content) {
    bool done = false;
    for (const char* kw : {"text:", "raw:"}) {
      if (l.rfind(kw, 0) == 0) {
        vectors_detail::append_text_line(l, kw, out);
        done = true;
      }
    }
    if (done) {
      continue;
    }
    std::string key;
    std::string value;
    if (vectors_detail::split_setting(l, &key, &value)) {
      if (!proto.directive(key, value, out)) {
        *why = "bad directive: " + l;
        return false;
      }
      continue;
    }
    if (!vectors_detail::parse_hex_line(l, out)) {
      *why = "bad peer line: " + l;
      return false;
    }
  }
  static const std::string kLength = "{length}";
  std::string s(out->begin(), out->end());
  const std::size_t at = s.find(kLength);
  if (at != std::string::npos) {
    const std::size_t body = s.find("\r\n\r\n", at);
    if (body == std::string::npos) {
      *why = "{length} without an empty line after it";
      return false;
    }
    // The body follows the placeholder: replacing it leaves the body's size as is.
    s.replace(at, kLength.size(), std::to_string(s.size() - (body + 4)));
    out->assign(s.begin(), s.end());
  }
  return true;
}

inline std::string show_event(const session::Event& e) {
  using K = session::Event::Kind;
  switch (e.kind) {
    case K::kConnected:
      return "event connected " + e.detail;
    case K::kHeader:
      return "event header bytes=" + std::to_string(e.header ? e.header->size() : 0) +
             " packet_size=" + std::to_string(e.info ? e.info->packet_size : 0) +
             " streams=" + std::to_string(e.info ? e.info->streams.size() : 0) +
             " changed=" + (e.changed ? "1" : "0");
    case K::kPacket:
      return "event packet " + std::to_string(e.packet_number) +
             " bytes=" + std::to_string(e.payload.size()) + (e.discont ? " discont" : "");
    case K::kEos:
      return "event eos";
    case K::kRedirect:
      return "event redirect " + e.url;
    case K::kBandwidth:
      return "event bandwidth " + std::to_string(e.bandwidth_bps);
    case K::kFailed: {
      std::string s = std::string("event failed ") + to_string(e.status.code()) + " \"" +
                      e.status.what() + "\"";
      if (!e.detail.empty()) {
        s += " detail=\"" + e.detail + "\"";
      }
      return s;
    }
  }
  return "event ?";
}

}  // namespace script_detail

// Runs one case; `split` says how a peer block is cut: 0 whole, 1 byte by
// byte, 2+ random cuts with that seed. Returns the lines of every step, each
// step's block introduced by "@<step index> <verb>".
inline std::vector<std::string> run_script(const ScriptCase& c, const ScriptProtocol& proto,
                                           unsigned split, std::string* error) {
  std::vector<std::string> log;
  std::unique_ptr<session::ClientSession> s = proto.make(c);
  if (!s) {
    *error = "no session for this case";
    return log;
  }
  Instant now{5 * kSecond};
  session::ChannelId tcp = 0;
  std::vector<std::uint8_t> pending;
  std::mt19937 rng(split);
  // A step's I/O lines, then its events: how they interleave depends on how the
  // peer's bytes were cut, their order within each kind does not.
  std::vector<std::string> events;
  auto drain = [&]() {
    session::IoAction a;
    while (s->next_io_action(&a)) {
      using K = session::IoAction::Kind;
      const std::string ch = std::to_string(a.channel);
      switch (a.kind) {
        case K::kConnectTcp:
          tcp = a.channel;
          pending.clear();
          log.push_back("connect " + ch + " " + a.host + ":" + std::to_string(a.port));
          break;
        case K::kSend:
          for (const std::string& l : proto.describe_sent(a.bytes)) {
            log.push_back(vectors_detail::normalize("send " + ch + " " + l));
          }
          break;
        case K::kClose:
          log.push_back("close " + ch);
          break;
        case K::kBindUdp:
          log.push_back("bind-udp " + ch + " " + std::to_string(a.port) + "-" +
                        std::to_string(a.port_max));
          break;
        case K::kSendTo:
          log.push_back("sendto " + ch + " " + a.host + ":" + std::to_string(a.port) + " " +
                        std::to_string(a.bytes.size()) + " bytes");
          break;
      }
    }
    session::Event e;
    while (s->next_event(&e)) {
      events.push_back(vectors_detail::normalize(script_detail::show_event(e)));
    }
  };
  auto offer = [&]() {
    const std::size_t used = s->on_bytes(tcp, ByteView(pending.data(), pending.size()), now);
    if (used > pending.size()) {
      *error = "session consumed more than it was given";
      pending.clear();
      return;
    }
    drain();  // events alias `pending`
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(used));
  };
  for (std::size_t i = 0; i < c.steps.size() && error->empty(); ++i) {
    const ScriptStep& st = c.steps[i];
    log.push_back("@" + std::to_string(i) + " " + st.verb);
    if (st.verb == "play") {
      session::PlayRequest r;
      r.position_ms = st.arg.empty() ? 0 : std::stoull(st.arg);
      s->play(r, now);
    } else if (st.verb == "connected") {
      s->on_connected(tcp, now);
    } else if (st.verb == "peer") {
      std::vector<std::uint8_t> bytes;
      if (!script_detail::peer_bytes(proto, st, &bytes, error)) {
        *error = c.file + ":" + std::to_string(st.line_no) + ": " + *error;
        break;
      }
      std::size_t off = 0;
      while (off < bytes.size() && error->empty()) {
        std::size_t n = bytes.size() - off;
        if (split == 1) {
          n = 1;
        } else if (split >= 2) {
          n = std::min<std::size_t>(n, 1 + rng() % 97);
        }
        pending.insert(pending.end(), bytes.begin() + static_cast<std::ptrdiff_t>(off),
                       bytes.begin() + static_cast<std::ptrdiff_t>(off + n));
        off += n;
        offer();
      }
    } else if (st.verb == "eof") {
      s->on_eof(tcp, now);
    } else if (st.verb == "advance") {
      now = now + std::stoll(st.arg) * kMillisecond;
    } else if (st.verb == "timeout") {
      s->on_timeout(now);
    } else if (st.verb == "close") {
      s->close();
    }
    drain();
    log.insert(log.end(), events.begin(), events.end());
    events.clear();
  }
  return log;
}

// What the case's steps expect, in run_script's form.
inline std::vector<std::string> script_expectation(const ScriptCase& c) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < c.steps.size(); ++i) {
    out.push_back("@" + std::to_string(i) + " " + c.steps[i].verb);
    out.insert(out.end(), c.steps[i].expect.begin(), c.steps[i].expect.end());
  }
  return out;
}

// MMS_SCRIPT_BLESS=1: rewrites `path` with the "> " lines each step produced
// (`got`: one run_script log per case of the file, in order), for a new or
// deliberately changed script; the result is then reviewed like any change.
inline void bless_script_file(const std::filesystem::path& path,
                              const std::vector<std::vector<std::string>>& got) {
  std::vector<std::string> lines;
  {
    std::ifstream in(path);
    std::string l;
    while (std::getline(in, l)) {
      lines.push_back(l);
    }
  }
  const std::vector<ScriptCase> cases = load_script_file(path);
  // Insertion point of every step's lines: after its block's last content line.
  std::map<std::size_t, std::vector<std::string>> insert_after;  // 0-based line index
  std::vector<std::size_t> starts;                               // step and case lines
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (vectors_detail::trim(lines[i]).rfind("## ", 0) == 0) {
      starts.push_back(i);
    }
  }
  for (const ScriptCase& c : cases) {
    for (const ScriptStep& st : c.steps) {
      starts.push_back(static_cast<std::size_t>(st.line_no - 1));
    }
  }
  starts.push_back(lines.size());
  std::sort(starts.begin(), starts.end());
  for (std::size_t ci = 0; ci < cases.size() && ci < got.size(); ++ci) {
    std::size_t at = 0;  // step index of the current "@" block
    bool in_block = false;
    for (const std::string& g : got[ci]) {
      if (g[0] == '@') {
        at = std::stoul(g.substr(1));
        in_block = at < cases[ci].steps.size();
        continue;
      }
      if (!in_block) {
        continue;
      }
      const auto first = static_cast<std::size_t>(cases[ci].steps[at].line_no - 1);
      std::size_t end = *std::upper_bound(starts.begin(), starts.end(), first);
      std::size_t last = first;
      for (std::size_t k = first + 1; k < end; ++k) {
        const std::string t = vectors_detail::trim(lines[k]);
        if (!t.empty() && t[0] != '#' && t[0] != '>') {
          last = k;
        }
      }
      insert_after[last].push_back("    > " + g);
    }
  }
  std::ofstream out(path, std::ios::trunc);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (vectors_detail::trim(lines[i]).rfind('>', 0) == 0) {
      continue;
    }
    out << lines[i] << "\n";
    auto it = insert_after.find(i);
    if (it != insert_after.end()) {
      for (const std::string& g : it->second) {
        out << g << "\n";
      }
    }
  }
}

// Runs every case of `dir` three ways against its expectation.
inline void run_script_dir(const std::string& dir, const ScriptProtocol& proto) {
  const std::vector<ScriptCase> cases = load_scripts(dir);
  ASSERT_FALSE(cases.empty()) << "no scripts in tests/vectors/" << dir;
  const char* bless = std::getenv("MMS_SCRIPT_BLESS");
  if (bless != nullptr && std::string(bless) == "1") {
    std::map<std::string, std::vector<std::vector<std::string>>> by_file;
    for (const ScriptCase& c : cases) {
      std::string error;
      by_file[c.file].push_back(run_script(c, proto, 0, &error));
    }
    for (const auto& [file, logs] : by_file) {
      bless_script_file(std::string(MMS_SOURCE_ROOT) + "/tests/vectors/" + dir + "/" + file, logs);
    }
  }
  for (const ScriptCase& c : load_scripts(dir)) {
    const std::vector<std::string> want = script_expectation(c);
    for (unsigned split : {0u, 1u, 7u, 1234u}) {
      std::string error;
      const std::vector<std::string> got = run_script(c, proto, split, &error);
      const char* way = split == 0 ? "whole" : split == 1 ? "byte by byte" : "random splits";
      EXPECT_TRUE(error.empty()) << c.file << ": " << c.title << " (" << way << "): " << error;
      EXPECT_EQ(got, want) << c.file << ": " << c.title << " (" << way << ", seed " << split
                           << ")\nwant:\n"
                           << show(want) << "got:\n"
                           << show(got);
    }
  }
}

}  // namespace mms::test
