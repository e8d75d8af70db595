#include "protocol/rtsp/message_codec.h"

#include <cstdio>

#include "protocol/core/limits.h"
#include "protocol/core/text.h"
#include "protocol/rtsp/codec_text.h"

namespace mms::rtsp {
namespace {

using codec_text::is_digit;
using codec_text::is_space;
using codec_text::is_token;
using codec_text::trim;

Decode fail(Status* error, Code code, const char* what, std::size_t detail) {
  *error = Status(code, what, static_cast<std::uint32_t>(detail));
  return Decode::kError;
}

// Splits the head starting at `start` into lines; see mmsh/http_codec.cpp.
Decode scan_head(std::string_view text, std::size_t start, std::vector<std::string_view>* lines,
                 std::size_t* head_end, Status* error) {
  std::size_t pos = start;
  lines->clear();
  while (true) {
    const std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos || nl - start >= limits::kMaxRtspHead) {
      if (text.size() - pos > limits::kMaxRtspLine + 1) {  // +1: room for its CR
        return fail(error, Code::kLimitExceeded, "rtsp: line longer than kMaxRtspLine", pos);
      }
      if (text.size() - start >= limits::kMaxRtspHead) {
        return fail(error, Code::kLimitExceeded, "rtsp: head larger than kMaxRtspHead",
                    text.size() - start);
      }
      return Decode::kNeedMore;
    }
    std::size_t end = nl;
    if (end > pos && text[end - 1] == '\r') {
      --end;
    }
    const std::string_view line = text.substr(pos, end - pos);
    if (line.size() > limits::kMaxRtspLine) {
      return fail(error, Code::kLimitExceeded, "rtsp: line longer than kMaxRtspLine", pos);
    }
    pos = nl + 1;
    if (line.empty()) {
      *head_end = pos;
      return Decode::kDone;
    }
    if (lines->size() > limits::kMaxRtspHeaders) {
      return fail(error, Code::kLimitExceeded, "rtsp: more than kMaxRtspHeaders headers",
                  lines->size());
    }
    lines->push_back(line);
  }
}

Decode parse_headers(const std::vector<std::string_view>& lines, Headers* out, Status* error) {
  out->list.clear();
  out->list.reserve(lines.size() - 1);
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (is_space(line.front())) {
      return fail(error, Code::kMalformed, "rtsp: folded header line", i);
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(trim(line.substr(0, colon)))) {
      return fail(error, Code::kMalformed, "rtsp: bad header line", i);
    }
    out->add(std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
  }
  return Decode::kDone;
}

bool parse_version(std::string_view s, int* minor) {
  if (s.size() != 8 || s.substr(0, 7) != "RTSP/1." || !is_digit(s[7])) {
    return false;
  }
  *minor = s[7] - '0';
  return true;
}

bool parse_start_line(std::string_view line, Unit* unit) {
  if (line.substr(0, 5) == "RTSP/") {
    // "RTSP/1.x SSS[ reason]"
    if (line.size() < 12 || !parse_version(line.substr(0, 8), &unit->response.version_minor) ||
        line[8] != ' ' || !is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11]) ||
        (line.size() > 12 && line[12] != ' ')) {
      return false;
    }
    unit->kind = UnitKind::kResponse;
    unit->response.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    unit->response.reason = std::string(line.size() > 13 ? line.substr(13) : std::string_view());
    return true;
  }
  const std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) {
    return false;
  }
  const std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1 ||
      line.find(' ', sp2 + 1) != std::string_view::npos) {
    return false;
  }
  const std::string_view method = line.substr(0, sp1);
  if (!is_token(method) || !parse_version(line.substr(sp2 + 1), &unit->request.version_minor)) {
    return false;
  }
  unit->kind = UnitKind::kRequest;
  unit->request.method = std::string(method);
  unit->request.uri = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  return true;
}

void write_headers(const Headers& headers, const std::string& body, std::string* out) {
  bool wrote_length = false;
  for (const Header& h : headers.list) {
    if (iequals(h.name, "Content-Length")) {
      if (wrote_length) {
        continue;
      }
      *out += h.name + ": " + std::to_string(body.size()) + "\r\n";
      wrote_length = true;
      continue;
    }
    *out += h.name + ": " + h.value + "\r\n";
  }
  if (!wrote_length && !body.empty()) {
    *out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  *out += "\r\n";
  *out += body;
}

}  // namespace

const std::string* Headers::find(std::string_view name) const {
  for (const Header& h : list) {
    if (iequals(h.name, name)) {
      return &h.value;
    }
  }
  return nullptr;
}

std::vector<std::string_view> Headers::all(std::string_view name) const {
  std::vector<std::string_view> r;
  for (const Header& h : list) {
    if (iequals(h.name, name)) {
      r.push_back(h.value);
    }
  }
  return r;
}

void Headers::set(std::string_view name, std::string value) {
  for (Header& h : list) {
    if (iequals(h.name, name)) {
      h.value = std::move(value);
      return;
    }
  }
  add(std::string(name), std::move(value));
}

void Headers::remove(std::string_view name) {
  std::vector<Header> kept;
  for (Header& h : list) {
    if (!iequals(h.name, name)) {
      kept.push_back(std::move(h));
    }
  }
  list = std::move(kept);
}

Decode decode_unit(ByteView in, Unit* unit, Status* error) {
  const std::string_view text = in.as_string_view();
  // Empty lines between units (some servers end bodies with an extra CRLF).
  std::size_t start = 0;
  while (start < text.size() && (text[start] == '\r' || text[start] == '\n')) {
    ++start;
    if (start > limits::kMaxRtspLine) {
      return fail(error, Code::kLimitExceeded, "rtsp: line longer than kMaxRtspLine", start);
    }
  }
  if (start == text.size()) {
    return Decode::kNeedMore;
  }
  if (text[start] == '$') {
    if (text.size() - start < 4) {
      return Decode::kNeedMore;
    }
    const std::size_t len = static_cast<std::size_t>(in[start + 2]) << 8 | in[start + 3];
    if (text.size() - start - 4 < len) {
      return Decode::kNeedMore;
    }
    unit->kind = UnitKind::kInterleaved;
    unit->frame.channel = in[start + 1];
    unit->frame.payload = in.subview(start + 4, len);
    unit->wire_size = start + 4 + len;
    return Decode::kDone;
  }
  std::vector<std::string_view> lines;
  std::size_t head_end = 0;
  const Decode d = scan_head(text, start, &lines, &head_end, error);
  if (d != Decode::kDone) {
    // A garbage first line is reported before the head completes.
    if (d == Decode::kNeedMore) {
      const std::size_t nl = text.find('\n', start);
      if (nl != std::string_view::npos) {
        Unit probe;
        std::size_t end = nl;
        if (end > start && text[end - 1] == '\r') {
          --end;
        }
        if (!parse_start_line(text.substr(start, end - start), &probe)) {
          return fail(error, Code::kMalformed, "rtsp: bad start line", start);
        }
      }
    }
    return d;
  }
  Unit u;
  if (!parse_start_line(lines[0], &u)) {
    return fail(error, Code::kMalformed, "rtsp: bad start line", start);
  }
  Headers* headers = u.kind == UnitKind::kRequest ? &u.request.headers : &u.response.headers;
  if (parse_headers(lines, headers, error) != Decode::kDone) {
    return Decode::kError;
  }
  std::size_t body_len = 0;
  if (const std::string* cl = headers->find("Content-Length")) {
    std::uint32_t v = 0;
    if (!parse_u32(*cl, &v)) {
      return fail(error, Code::kMalformed, "rtsp: bad Content-Length", 0);
    }
    if (v > limits::kMaxRtspBody) {
      return fail(error, Code::kLimitExceeded, "rtsp: body larger than kMaxRtspBody", v);
    }
    body_len = v;
  }
  if (text.size() - head_end < body_len) {
    return Decode::kNeedMore;
  }
  std::string body(text.substr(head_end, body_len));
  if (u.kind == UnitKind::kRequest) {
    u.request.body = std::move(body);
  } else {
    u.response.body = std::move(body);
  }
  u.wire_size = head_end + body_len;
  *unit = std::move(u);
  return Decode::kDone;
}

std::string write_request(const Request& req) {
  std::string out =
      req.method + " " + req.uri + " RTSP/1." + std::to_string(req.version_minor) + "\r\n";
  write_headers(req.headers, req.body, &out);
  return out;
}

std::string write_response(const Response& resp) {
  char status[8];
  std::snprintf(status, sizeof status, "%03d", resp.status % 1000);
  std::string out = "RTSP/1." + std::to_string(resp.version_minor) + " " + status;
  if (!resp.reason.empty()) {
    out += " " + resp.reason;
  }
  out += "\r\n";
  write_headers(resp.headers, resp.body, &out);
  return out;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Moved Temporarily";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 407:
      return "Proxy Authentication Required";
    case 408:
      return "Request Time-out";
    case 415:
      return "Unsupported Media Type";
    case 451:
      return "Parameter Not Understood";
    case 453:
      return "Not Enough Bandwidth";
    case 454:
      return "Session Not Found";
    case 455:
      return "Method Not Valid in This State";
    case 456:
      return "Header Field Not Valid for Resource";
    case 457:
      return "Invalid Range";
    case 459:
      return "Aggregate operation not allowed";
    case 460:
      return "Only aggregate operation allowed";
    case 461:
      return "Unsupported transport";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "RTSP Version not supported";
    case 551:
      return "Option not supported";
    default:
      return "";
  }
}

Status write_interleaved(std::uint8_t channel, ByteView payload, std::vector<std::uint8_t>* out) {
  if (payload.size() > 65535) {
    return Status(Code::kLocalMisuse, "rtsp: interleaved payload above 65535 bytes",
                  static_cast<std::uint32_t>(payload.size()));
  }
  out->push_back('$');
  out->push_back(channel);
  out->push_back(static_cast<std::uint8_t>(payload.size() >> 8));
  out->push_back(static_cast<std::uint8_t>(payload.size()));
  out->insert(out->end(), payload.begin(), payload.end());
  return Status::Ok();
}

}  // namespace mms::rtsp
