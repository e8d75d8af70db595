#include "protocol/mmsh/http_codec.h"

#include <cstring>

#include "protocol/core/limits.h"
#include "protocol/core/text.h"

namespace mms::mmsh {
namespace {

bool is_space(char c) {
  return is_lws(c);
}

std::string_view trim(std::string_view s) {
  return trim_lws(s);
}

bool is_alpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

Decode fail(Status* error, Code code, const char* what, std::size_t detail) {
  *error = Status(code, what, static_cast<std::uint32_t>(detail));
  return Decode::kError;
}

// Splits the head at the front of `in` into lines (terminator and one CR before
// it removed). Leading empty lines are skipped. Enforces the line, head and
// header-count limits on whatever is present, so a peer that never sends the
// blank line is stopped at the limit. *lines[0] is the start line.
Decode scan_head(ByteView in, std::vector<std::string_view>* lines, std::size_t* consumed,
                 Status* error) {
  const std::string_view text = in.as_string_view();
  std::size_t pos = 0;
  lines->clear();
  while (true) {
    const std::size_t window_end =
        text.size() < limits::kMaxHttpHead ? text.size() : limits::kMaxHttpHead;
    const std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos || nl >= window_end) {
      // Incomplete line: decide whether it could still fit the limits.
      if (text.size() - pos > limits::kMaxHttpLine + 1) {  // +1: room for its CR
        return fail(error, Code::kLimitExceeded, "http: line longer than kMaxHttpLine", pos);
      }
      if (text.size() >= limits::kMaxHttpHead) {
        return fail(error, Code::kLimitExceeded, "http: head larger than kMaxHttpHead",
                    text.size());
      }
      return Decode::kNeedMore;
    }
    std::size_t end = nl;
    if (end > pos && text[end - 1] == '\r') {
      --end;
    }
    const std::string_view line = text.substr(pos, end - pos);
    if (line.size() > limits::kMaxHttpLine) {
      return fail(error, Code::kLimitExceeded, "http: line longer than kMaxHttpLine", pos);
    }
    pos = nl + 1;
    if (line.empty()) {
      if (lines->empty()) {
        continue;  // tolerated empty line before the start line
      }
      *consumed = pos;
      return Decode::kDone;
    }
    if (lines->size() > limits::kMaxHttpHeaders) {  // start line + kMaxHttpHeaders headers
      return fail(error, Code::kLimitExceeded, "http: more than kMaxHttpHeaders headers",
                  lines->size());
    }
    lines->push_back(line);
  }
}

Decode parse_headers(const std::vector<std::string_view>& lines, HttpHeaders* out, Status* error) {
  out->list.clear();
  out->list.reserve(lines.size() - 1);
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (is_space(line.front())) {
      return fail(error, Code::kMalformed, "http: folded header line", i);
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
      return fail(error, Code::kMalformed, "http: bad header line", i);
    }
    out->add(std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1))));
  }
  return Decode::kDone;
}

// "HTTP/1.x" at the front of s; sets *minor.
bool parse_version(std::string_view s, int* minor) {
  if (s.size() != 8 || s.substr(0, 7) != "HTTP/1." || !is_digit(s[7])) {
    return false;
  }
  *minor = s[7] - '0';
  return true;
}

bool parse_hex_u16(std::string_view s, std::uint16_t* out) {
  if (s.empty() || s.size() > 4) {
    return false;
  }
  unsigned v = 0;
  for (char c : s) {
    unsigned d = 0;
    if (is_digit(c)) {
      d = static_cast<unsigned>(c - '0');
    } else if (ascii_lower(c) >= 'a' && ascii_lower(c) <= 'f') {
      d = static_cast<unsigned>(ascii_lower(c) - 'a' + 10);
    } else {
      return false;
    }
    v = v * 16 + d;
  }
  *out = static_cast<std::uint16_t>(v);
  return true;
}

// Cuts a Pragma value at a following header line glued onto it (FFmpeg's missing
// CRLF: "stream-time=0Connection: Close"): outside quotes, a run of letters and
// '-' directly followed by ':' and then a space, a tab or the end of the value.
// Also cuts at a stray CR or LF. Token values never contain "Name: "; entry
// lists ("ffff:1:0") and offsets ("0:0") have no space after their colons.
std::string_view cut_glued_header(std::string_view v) {
  bool quoted = false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    if (c == '"') {
      quoted = !quoted;
      continue;
    }
    if (c == '\r' || c == '\n') {
      return v.substr(0, i);
    }
    if (quoted || c != ':') {
      continue;
    }
    if (i + 1 < v.size() && !is_space(v[i + 1])) {
      continue;
    }
    std::size_t start = i;
    while (start > 0 && (is_alpha(v[start - 1]) || v[start - 1] == '-')) {
      --start;
    }
    if (start < i && is_alpha(v[start])) {
      return v.substr(0, start);
    }
  }
  return v;
}

std::string_view unquote(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
    return v.substr(1, v.size() - 2);
  }
  return v;
}

void add_token(std::string_view token, std::vector<PragmaToken>* out) {
  token = trim(token);
  if (token.empty()) {
    return;
  }
  const std::size_t eq = token.find('=');
  PragmaToken t;
  if (eq == std::string_view::npos) {
    t.name = ascii_lower(token);
  } else {
    t.name = ascii_lower(trim(token.substr(0, eq)));
    t.value = std::string(unquote(trim(token.substr(eq + 1))));
  }
  if (t.name == "switch-stream-entry") {
    t.name = "stream-switch-entry";
  } else if (t.name == "switch-stream-count") {
    t.name = "stream-switch-count";
  }
  out->push_back(std::move(t));
}

void append_headers(const HttpHeaders& headers, std::string* out) {
  for (const HttpHeader& h : headers.list) {
    out->append(h.name);
    out->append(": ");
    out->append(h.value);
    out->append("\r\n");
  }
  out->append("\r\n");
}

}  // namespace

const std::string* HttpHeaders::find(std::string_view name) const {
  for (const HttpHeader& h : list) {
    if (iequals(h.name, name)) {
      return &h.value;
    }
  }
  return nullptr;
}

std::vector<std::string_view> HttpHeaders::all(std::string_view name) const {
  std::vector<std::string_view> r;
  for (const HttpHeader& h : list) {
    if (iequals(h.name, name)) {
      r.emplace_back(h.value);
    }
  }
  return r;
}

Decode parse_response_head(ByteView in, HttpResponse* out, std::size_t* consumed, Status* error) {
  std::vector<std::string_view> lines;
  std::size_t used = 0;
  Decode d = scan_head(in, &lines, &used, error);
  if (d != Decode::kDone) {
    return d;
  }
  // HTTP/1.x SP 3DIGIT [SP reason]
  const std::string_view line = lines[0];
  HttpResponse r;
  if (line.size() < 12 || !parse_version(line.substr(0, 8), &r.version_minor) || line[8] != ' ' ||
      !is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11]) || line[9] == '0' ||
      (line.size() > 12 && line[12] != ' ')) {
    return fail(error, Code::kMalformed, "http: bad status line", 0);
  }
  r.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  if (line.size() > 12) {
    r.reason = std::string(trim(line.substr(13)));
  }
  d = parse_headers(lines, &r.headers, error);
  if (d != Decode::kDone) {
    return d;
  }
  *out = std::move(r);
  *consumed = used;
  return Decode::kDone;
}

Decode parse_request_head(ByteView in, HttpRequest* out, std::size_t* consumed, Status* error) {
  std::vector<std::string_view> lines;
  std::size_t used = 0;
  Decode d = scan_head(in, &lines, &used, error);
  if (d != Decode::kDone) {
    return d;
  }
  // METHOD SP target SP HTTP/1.x
  const std::string_view line = lines[0];
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = line.rfind(' ');
  HttpRequest r;
  if (sp1 == std::string_view::npos || sp2 == sp1 || !is_token(line.substr(0, sp1)) ||
      !parse_version(line.substr(sp2 + 1), &r.version_minor)) {
    return fail(error, Code::kMalformed, "http: bad request line", 0);
  }
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (target.empty() || target.find(' ') != std::string_view::npos ||
      target.find('\t') != std::string_view::npos) {
    return fail(error, Code::kMalformed, "http: bad request target", 0);
  }
  r.method = std::string(line.substr(0, sp1));
  r.target = std::string(target);
  d = parse_headers(lines, &r.headers, error);
  if (d != Decode::kDone) {
    return d;
  }
  *out = std::move(r);
  *consumed = used;
  return Decode::kDone;
}

std::string write_request(const HttpRequest& req) {
  std::string out;
  out.append(req.method);
  out.push_back(' ');
  out.append(req.target);
  out.append(" HTTP/1.");
  out.append(std::to_string(req.version_minor));
  out.append("\r\n");
  append_headers(req.headers, &out);
  return out;
}

std::string write_response(const HttpResponse& resp) {
  std::string out("HTTP/1.");
  out.append(std::to_string(resp.version_minor));
  out.push_back(' ');
  out.append(std::to_string(resp.status));
  out.push_back(' ');
  out.append(resp.reason);
  out.append("\r\n");
  append_headers(resp.headers, &out);
  return out;
}

std::vector<PragmaToken> parse_pragmas(const HttpHeaders& headers) {
  std::vector<PragmaToken> tokens;
  for (const HttpHeader& h : headers.list) {
    if (!iequals(h.name, "Pragma")) {
      continue;
    }
    std::string_view v = trim(h.value);
    if (istarts_with(v, "log-line=")) {
      // Alone on its line; W3C fields may hold anything but a line end.
      add_token(v.substr(0, v.find_first_of("\r\n")), &tokens);
      continue;
    }
    v = cut_glued_header(v);
    bool quoted = false;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= v.size(); ++i) {
      if (i < v.size() && v[i] == '"') {
        quoted = !quoted;
      } else if (i == v.size() || (v[i] == ',' && !quoted)) {
        add_token(v.substr(start, i - start), &tokens);
        start = i + 1;
      }
    }
  }
  return tokens;
}

const std::string* find_pragma(const std::vector<PragmaToken>& tokens, std::string_view name) {
  for (const PragmaToken& t : tokens) {
    if (iequals(t.name, name)) {
      return &t.value;
    }
  }
  return nullptr;
}

Result<std::vector<StreamSwitchEntry>> parse_stream_switch(std::string_view value) {
  std::vector<StreamSwitchEntry> entries;
  std::size_t pos = 0;
  while (pos < value.size()) {
    if (is_space(value[pos])) {
      ++pos;
      continue;
    }
    std::size_t end = pos;
    while (end < value.size() && !is_space(value[end])) {
      ++end;
    }
    if (entries.size() == limits::kMaxStreamSwitchEntries) {
      return Status(Code::kLimitExceeded, "mmsh: more than kMaxStreamSwitchEntries entries",
                    static_cast<std::uint32_t>(entries.size()));
    }
    const std::string_view entry = value.substr(pos, end - pos);
    const std::size_t c1 = entry.find(':');
    const std::size_t c2 = c1 == std::string_view::npos ? c1 : entry.find(':', c1 + 1);
    StreamSwitchEntry e;
    std::uint16_t thin = 0;
    if (c2 == std::string_view::npos || !parse_hex_u16(entry.substr(0, c1), &e.source) ||
        !parse_hex_u16(entry.substr(c1 + 1, c2 - c1 - 1), &e.stream) || entry.size() - c2 != 2 ||
        !parse_hex_u16(entry.substr(c2 + 1), &thin) || thin > 2) {
      return Status(Code::kMalformed, "mmsh: bad stream-switch-entry",
                    static_cast<std::uint32_t>(entries.size()));
    }
    e.thinning = static_cast<std::uint8_t>(thin);
    entries.push_back(e);
    pos = end;
  }
  return entries;
}

std::string format_stream_switch(const std::vector<StreamSwitchEntry>& entries) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const StreamSwitchEntry& e : entries) {
    if (!out.empty()) {
      out.push_back(' ');
    }
    for (std::uint16_t v : {e.source, e.stream}) {
      bool started = false;
      for (int shift = 12; shift >= 0; shift -= 4) {
        const unsigned digit = (static_cast<unsigned>(v) >> shift) & 0xfu;
        if (digit != 0 || started || shift == 0) {
          out.push_back(kDigits[digit]);
          started = true;
        }
      }
      out.push_back(':');
    }
    out.push_back(kDigits[e.thinning & 0xfu]);
  }
  return out;
}

}  // namespace mms::mmsh
